"""Velodyne packet encoder: the firing schedule of a spinning sensor and packets built from it.

:class:`FiringSchedule` says, for any run of packets, when each data point fires and where
the laser points (true azimuth including the laser's offset, elevation, vertical offset).
:func:`encode_packets` packs ranges and reflectivities measured along those rays into valid
1206-byte data packets, with the block azimuths and top-of-hour timestamps a real sensor
would write. The virtual sensor and the round-trip tests are both built on these two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jetson_edge_lidar.models import BLOCKS_PER_PACKET, ReturnMode, SensorModel
from jetson_edge_lidar.packet import AZIMUTH_UNITS, BLOCK_FLAG, PACKET_DTYPE, TIMESTAMP_WRAP_US


@dataclass(frozen=True)
class Firings:
    """Geometry of every data point of ``n`` consecutive packets (arrays shaped (n, 12, 32))."""

    time_s: np.ndarray  # absolute firing time, seconds since the epoch
    azimuth_deg: np.ndarray  # true pointing azimuth (clockwise), laser offset included
    elevation_deg: np.ndarray
    vertical_offset_m: np.ndarray
    laser: np.ndarray
    block_azimuth: np.ndarray  # (n, 12) raw 0.01 deg values the packets carry
    timestamp_us: np.ndarray  # (n,) microseconds past the hour the packets carry


class FiringSchedule:
    """A sensor spinning at constant ``rpm`` from ``start_azimuth_deg`` at ``start_time_s``."""

    def __init__(self, model: SensorModel, mode: ReturnMode, *, rpm: float = 600.0,
                 start_time_s: float = 0.0, start_azimuth_deg: float = 0.0) -> None:
        model.check_rpm(rpm)
        self.model = model
        self.mode = mode
        self.rpm = rpm
        self.start_time_s = start_time_s
        self.start_azimuth_deg = start_azimuth_deg
        self.packet_period_s = model.packet_period_us(mode) * 1e-6
        # Firing time of each point relative to the packet's first firing.
        self._point_offset_s = (model.point_time_us(mode) - model.first_firing_offset_us) * 1e-6
        self._block_offset_s = model.block_time_us(mode) * 1e-6
        laser = model.slot_laser
        self._laser = np.broadcast_to(laser, (BLOCKS_PER_PACKET, laser.size))
        self._elevation = np.asarray(model.elevation_deg)[self._laser]
        self._az_offset = np.asarray(model.azimuth_offset_deg)[self._laser]
        self._v_offset = np.asarray(model.vertical_offset_mm)[self._laser] * 1e-3

    @property
    def degrees_per_second(self) -> float:
        return self.rpm * 6.0

    def azimuth_at(self, time_s: np.ndarray) -> np.ndarray:
        return (self.start_azimuth_deg
                + self.degrees_per_second * (time_s - self.start_time_s)) % 360.0

    def window(self, first_packet: int, count: int) -> Firings:
        index = np.arange(first_packet, first_packet + count)
        # Exact multiples of the period from the start: no drift over long runs.
        packet_start = self.start_time_s + index * self.packet_period_s
        time_s = packet_start[:, None, None] + self._point_offset_s[None]
        block_start = packet_start[:, None] + self._block_offset_s[None]
        block_azimuth = (np.rint(self.azimuth_at(block_start) * 100).astype(np.int64)
                         % AZIMUTH_UNITS)
        stamp_s = packet_start - self.model.first_firing_offset_us * 1e-6
        timestamp_us = np.rint((stamp_s % 3600.0) * 1e6).astype(np.int64) % TIMESTAMP_WRAP_US
        shape = time_s.shape
        return Firings(
            time_s=time_s,
            azimuth_deg=(self.azimuth_at(time_s) + self._az_offset[None]) % 360.0,
            elevation_deg=np.broadcast_to(self._elevation, shape),
            vertical_offset_m=np.broadcast_to(self._v_offset, shape),
            laser=np.broadcast_to(self._laser, shape),
            block_azimuth=block_azimuth,
            timestamp_us=timestamp_us)


def quantize_range(distance_m: np.ndarray, model: SensorModel) -> np.ndarray:
    """Raw distance units; 0 (no return) for non-finite, non-positive or too far ranges."""
    raw = np.rint(np.nan_to_num(distance_m, nan=0.0, posinf=0.0) / model.distance_resolution_m)
    out_of_range = (raw <= 0) | (raw > 0xFFFF) | (distance_m > model.max_range_m)
    return np.where(out_of_range, 0, raw).astype(np.uint16)


def encode_packets(firings: Firings, model: SensorModel, mode: ReturnMode, *,
                   distance_raw: np.ndarray, reflectivity: np.ndarray) -> np.ndarray:
    """Pack (n, 12, 32) raw distances and reflectivities into n data packets.

    In dual-return mode the caller supplies both returns block by block: even blocks the
    last return, odd blocks the strongest (or second-strongest) one, as the sensor does.
    """
    n = len(firings.timestamp_us)
    packets = np.zeros(n, dtype=PACKET_DTYPE)
    blocks = packets['blocks']
    blocks['flag'] = BLOCK_FLAG
    blocks['azimuth'] = firings.block_azimuth
    blocks['returns']['distance'] = distance_raw
    blocks['returns']['reflectivity'] = reflectivity
    packets['timestamp'] = firings.timestamp_us
    packets['return_mode'] = int(mode)
    packets['product_id'] = model.product_id
    return packets


def packets_to_bytes(packets: np.ndarray) -> list[bytes]:
    raw = packets.tobytes()
    size = PACKET_DTYPE.itemsize
    return [raw[i:i + size] for i in range(0, len(raw), size)]
