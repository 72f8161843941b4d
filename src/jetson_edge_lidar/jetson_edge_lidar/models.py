"""Velodyne sensor models: laser geometry and firing timing from the user manuals.

Each supported model is described by one :class:`SensorModel` holding the per-laser
elevation, azimuth offset and vertical offset, the range resolution, and the firing timing
that places every data point of a 1206-byte data packet in time. The decoder, the encoder
and the health checks all read these tables, so they cannot disagree about a model.

Sources (values re-typed from the tables in the manuals, not copied from other code):

- VLP-16 / Puck LITE and Puck Hi-Res user manual, section 9.2 (elevation angles and vertical
  corrections) and 9.4 (16 firings 2.304 us apart, a 55.296 us firing sequence, two sequences
  per data block; the packet timestamp is the time of the packet's first firing).
- VLP-32C user manual, tables 9-2 and 9-6 (elevation angles and azimuth offsets) and 9.4
  (lasers fire in pairs, 16 firings 2.304 us apart, one 55.296 us sequence per data block).
- HDL-32E user manual, laser timing appendix (one laser every 1.152 us, 46.08 us per data
  block; the timestamp is taken when the packet is complete, so the first firing is
  542.592 us before it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .errors import ConfigError

BLOCKS_PER_PACKET = 12
SLOTS_PER_BLOCK = 32


class ReturnMode(enum.IntEnum):
    """Return-mode factory byte (packet offset 1204)."""

    STRONGEST = 0x37
    LAST = 0x38
    DUAL = 0x39

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, eq=False)
class SensorModel:
    """Geometry and timing of one Velodyne model (all tables indexed by laser id).

    Each model is one module-level instance, compared and hashed by identity: the decoder
    looks tables up by model for every batch, and hashing all the tables would cost more.
    """

    name: str
    product_id: int
    elevation_deg: tuple[float, ...]
    azimuth_offset_deg: tuple[float, ...]
    vertical_offset_mm: tuple[float, ...]
    distance_resolution_m: float
    #: Time between two consecutive firings within a sequence, in microseconds.
    firing_interval_us: float
    #: Duration of one data block's worth of firings (one azimuth step), in microseconds.
    block_period_us: float
    #: Lasers that fire at the same instant (VLP-32C fires in pairs).
    lasers_per_firing: int
    #: Time of the packet's first firing relative to the packet timestamp, in microseconds.
    first_firing_offset_us: float
    #: Rated range from the data sheet; the decoder's ``max_range`` may not exceed it.
    max_range_m: float
    rpm_range: tuple[int, int] = (300, 1200)
    aliases: tuple[str, ...] = field(default=())

    @property
    def lasers(self) -> int:
        return len(self.elevation_deg)

    @cached_property
    def ring_of_laser(self) -> np.ndarray:
        """Ring number of each laser id: lasers ranked by elevation, bottom-up."""
        order = np.argsort(np.asarray(self.elevation_deg), kind='stable')
        ring = np.empty(self.lasers, dtype=np.uint16)
        ring[order] = np.arange(self.lasers, dtype=np.uint16)
        return ring

    @cached_property
    def slot_laser(self) -> np.ndarray:
        """Laser id of each of the 32 data points of a block."""
        return np.arange(SLOTS_PER_BLOCK) % self.lasers

    @cached_property
    def slot_time_us(self) -> np.ndarray:
        """Firing time of each data point of a block relative to the block's first firing."""
        slots = np.arange(SLOTS_PER_BLOCK)
        sequence = slots // self.lasers
        firing = (slots % self.lasers) // self.lasers_per_firing
        sequences_per_block = SLOTS_PER_BLOCK // self.lasers
        sequence_period = self.block_period_us / sequences_per_block
        return sequence * sequence_period + firing * self.firing_interval_us

    def block_time_us(self, mode: ReturnMode) -> np.ndarray:
        """(12,) start time of each block relative to the packet's first firing.

        In dual-return mode blocks come in pairs holding two returns of the same firings.
        """
        blocks = np.arange(BLOCKS_PER_PACKET)
        steps = blocks // 2 if mode is ReturnMode.DUAL else blocks
        return steps * self.block_period_us

    def point_time_us(self, mode: ReturnMode) -> np.ndarray:
        """(12, 32) firing time of every data point relative to the packet timestamp."""
        return (self.first_firing_offset_us + self.block_time_us(mode)[:, None]
                + self.slot_time_us[None, :])

    def packet_period_us(self, mode: ReturnMode) -> float:
        return self.columns_per_packet(mode) * self.block_period_us

    def packet_rate_hz(self, mode: ReturnMode) -> float:
        """Data packets per second; fixed by the firing timing, independent of RPM."""
        return 1e6 / self.packet_period_us(mode)

    def columns_per_packet(self, mode: ReturnMode) -> int:
        """Distinct block azimuths in a packet (dual-return blocks come in pairs)."""
        return BLOCKS_PER_PACKET // 2 if mode is ReturnMode.DUAL else BLOCKS_PER_PACKET

    def column_step(self, rpm: float) -> float:
        """Azimuth advance from one block's firings to the next, in 0.01 deg, at ``rpm``."""
        return rpm * 6.0 * self.block_period_us * 1e-6 * 100.0

    def check_rpm(self, rpm: float) -> None:
        low, high = self.rpm_range
        if not low <= rpm <= high:
            raise ConfigError(f'rpm {rpm} is outside what a {self.name} supports '
                              f'({low} to {high}); set rpm to the motor speed configured '
                              f'on the sensor')


VLP16 = SensorModel(
    name='VLP-16',
    product_id=0x22,
    elevation_deg=(-15, 1, -13, 3, -11, 5, -9, 7, -7, 9, -5, 11, -3, 13, -1, 15),
    azimuth_offset_deg=(0.0,) * 16,
    vertical_offset_mm=(11.2, -0.7, 9.7, -2.2, 8.1, -3.7, 6.6, -5.1,
                        5.1, -6.6, 3.7, -8.1, 2.2, -9.7, 0.7, -11.2),
    distance_resolution_m=0.002,
    firing_interval_us=2.304,
    block_period_us=110.592,
    lasers_per_firing=1,
    first_firing_offset_us=0.0,
    max_range_m=100.0,
    aliases=('PUCK', 'PUCK LITE'),
)

PUCK_HIRES = SensorModel(
    name='Puck Hi-Res',
    product_id=0x24,
    elevation_deg=(-10.0, 0.67, -8.67, 2.0, -7.33, 3.33, -6.0, 4.67,
                   -4.67, 6.0, -3.33, 7.33, -2.0, 8.67, -0.67, 10.0),
    azimuth_offset_deg=(0.0,) * 16,
    vertical_offset_mm=(7.4, -0.9, 6.5, -1.8, 5.5, -2.7, 4.6, -3.7,
                        3.7, -4.6, 2.7, -5.5, 1.8, -6.5, 0.9, -7.4),
    distance_resolution_m=0.002,
    firing_interval_us=2.304,
    block_period_us=110.592,
    lasers_per_firing=1,
    first_firing_offset_us=0.0,
    max_range_m=100.0,
    aliases=('PUCK HIRES', 'VLP-16 HI-RES'),
)

VLP32C = SensorModel(
    name='VLP-32C',
    product_id=0x28,
    elevation_deg=(-25.0, -1.0, -1.667, -15.639, -11.31, 0.0, -0.667, -8.843,
                   -7.254, 0.333, -0.333, -6.148, -5.333, 1.333, 0.667, -4.0,
                   -4.667, 1.667, 1.0, -3.667, -3.333, 3.333, 2.333, -2.667,
                   -3.0, 7.0, 4.667, -2.333, -2.0, 15.0, 10.333, -1.333),
    azimuth_offset_deg=(1.4, -4.2, 1.4, -1.4, 1.4, -1.4, 4.2, -1.4,
                        1.4, -4.2, 1.4, -1.4, 4.2, -1.4, 4.2, -1.4,
                        1.4, -4.2, 1.4, -4.2, 4.2, -1.4, 1.4, -1.4,
                        1.4, -1.4, 1.4, -4.2, 4.2, -1.4, 1.4, -1.4),
    vertical_offset_mm=(0.0,) * 32,
    distance_resolution_m=0.004,
    firing_interval_us=2.304,
    block_period_us=55.296,
    lasers_per_firing=2,
    first_firing_offset_us=0.0,
    max_range_m=200.0,
    aliases=('VLP-32', 'ULTRA PUCK'),
)

HDL32E = SensorModel(
    name='HDL-32E',
    product_id=0x21,
    elevation_deg=(-30.67, -9.33, -29.33, -8.0, -28.0, -6.67, -26.67, -5.33,
                   -25.33, -4.0, -24.0, -2.67, -22.67, -1.33, -21.33, 0.0,
                   -20.0, 1.33, -18.67, 2.67, -17.33, 4.0, -16.0, 5.33,
                   -14.67, 6.67, -13.33, 8.0, -12.0, 9.33, -10.67, 10.67),
    azimuth_offset_deg=(0.0,) * 32,
    vertical_offset_mm=(0.0,) * 32,
    distance_resolution_m=0.002,
    firing_interval_us=1.152,
    block_period_us=46.08,
    lasers_per_firing=1,
    first_firing_offset_us=-542.592,
    max_range_m=100.0,
    rpm_range=(300, 1200),
    aliases=('HDL-32',),
)

MODELS: tuple[SensorModel, ...] = (VLP16, PUCK_HIRES, VLP32C, HDL32E)
MODEL_BY_PRODUCT_ID: dict[int, SensorModel] = {m.product_id: m for m in MODELS}
#: Product ids Velodyne defines that this driver does not decode (Velarray, VLS-128).
UNSUPPORTED_PRODUCT_IDS = {0x31: 'Velarray', 0x63: 'VLS-128', 0xA1: 'VLS-128'}

MODEL_CHOICES = ('auto',) + tuple(m.name for m in MODELS)
RETURN_MODE_CHOICES = ('auto', 'strongest', 'last', 'dual')


def model_by_name(name: str) -> SensorModel:
    """Look a model up by its name or a common alias (case-insensitive)."""
    key = _normalized(name)
    for model in MODELS:
        if key in {_normalized(n) for n in (model.name, *model.aliases)}:
            return model
    raise ConfigError(f'unknown Velodyne model {name!r}; expected one of '
                      f'{", ".join(m.name for m in MODELS)} (or "auto" to read it from '
                      f'the packets)')


def _normalized(name: str) -> str:
    return ''.join(c for c in name.upper() if c.isalnum())


def return_mode_by_name(name: str) -> ReturnMode:
    try:
        return ReturnMode[name.strip().upper()]
    except KeyError:
        raise ConfigError(f'unknown return mode {name!r}; expected strongest, last or dual '
                          f'(or "auto")') from None
