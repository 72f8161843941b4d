"""Decoder configuration: one validated dataclass, bad values refused with the reason."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ConfigError
from .models import MODELS, ReturnMode, SensorModel, model_by_name, return_mode_by_name
from .params import VELODYNE_NODE
from .scan import StampSource

_D = {spec.name: spec.default for spec in VELODYNE_NODE}  # the node's schema: one home of defaults


@dataclass(frozen=True)
class DecoderConfig:
    """What to decode and how to cut and stamp scans.

    ``model`` and ``return_mode`` may be ``'auto'`` (read from each packet's factory bytes);
    a named value makes packets announcing anything else count as mismatches.
    Angles are degrees, clockwise seen from above as the sensor reports them; ranges metres.
    The azimuth crop keeps [min_azimuth, max_azimuth], wrapping through 0 when
    min_azimuth > max_azimuth. ``max_gap_s``: a pause in the packet stream longer than this
    ends the current scan early instead of stitching unrelated rotations together.
    ``max_range`` None means the model's rated range (the detected model's with ``'auto'``);
    a value above it is refused. ``rpm`` is the motor speed configured on the sensor: with
    the model's firing timing it fixes how far the azimuth advances per packet, which the
    decoder follows (:mod:`.sequence`); ``resync_packets`` consecutive packets that continue
    each other re-anchor that sequence.
    """

    model: str = _D['model']
    return_mode: str = _D['return_mode']
    min_range: float = _D['min_range']
    max_range: float | None = None  # the schema's 0: the model's rated range
    min_azimuth: float = _D['min_azimuth']
    max_azimuth: float = _D['max_azimuth']
    cut_angle: float = _D['cut_angle']
    stamp_source: str = _D['stamp_source']
    max_gap_s: float = 0.1
    rpm: float = _D['rpm']
    resync_packets: int = _D['resync_packets']

    def __post_init__(self) -> None:
        for name in ('min_range', 'max_range', 'min_azimuth', 'max_azimuth', 'cut_angle',
                     'max_gap_s', 'rpm'):
            value = getattr(self, name)
            if name == 'max_range' and value is None:
                continue
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f'{name} must be a finite number, got {value!r}')
        if not 0.0 <= self.cut_angle < 360.0:
            raise ConfigError(f'cut_angle {self.cut_angle} is outside [0, 360): give the '
                              f'azimuth in degrees where one scan ends and the next begins')
        # Resolve the names now so a typo fails at start-up, not at the first packet.
        _ = (self.sensor_model, self.expected_return_mode, self.stamp)
        self._check_range()
        for model in self._candidate_models:
            model.check_rpm(self.rpm)
        if not isinstance(self.resync_packets, int) or not 2 <= self.resync_packets <= 64:
            raise ConfigError(f'resync_packets must be an integer from 2 to 64, got '
                              f'{self.resync_packets!r}')
        for name in ('min_azimuth', 'max_azimuth'):
            if not 0.0 <= getattr(self, name) <= 360.0:
                raise ConfigError(f'{name} {getattr(self, name)} is outside [0, 360]')
        if self.min_azimuth == self.max_azimuth:
            raise ConfigError('min_azimuth equals max_azimuth, which would keep nothing; '
                              'use 0 and 360 to keep the full circle')
        if self.max_gap_s <= 0:
            raise ConfigError(f'max_gap_s must be positive, got {self.max_gap_s}')

    @property
    def _candidate_models(self) -> tuple[SensorModel, ...]:
        """The named model, or every model ``'auto'`` may detect."""
        model = self.sensor_model
        return MODELS if model is None else (model,)

    def _check_range(self) -> None:
        # With 'auto' a range must suit whichever model is detected.
        shortest = min(self._candidate_models, key=lambda m: m.max_range_m)
        limit = shortest.max_range_m
        if self.max_range is not None and self.max_range > limit:
            if self.sensor_model is not None:
                raise ConfigError(
                    f'max_range {self.max_range:g} m is above the {shortest.name}\'s rated '
                    f'range of {limit:g} m; lower it, or leave it unset (0 in the node '
                    f'parameters) for the rated range')
            raise ConfigError(
                f'max_range {self.max_range:g} m is above what some models "auto" may '
                f'detect are rated for ({_rated_ranges()}); name the model to go up to its '
                f'rated range, or leave max_range unset (0 in the node parameters) for '
                f'the detected model\'s rated range')
        top = limit if self.max_range is None else self.max_range
        if not 0.0 <= self.min_range < top:
            raise ConfigError(f'need 0 <= min_range < max_range, got min_range '
                              f'{self.min_range}, max_range {top:g}'
                              + ('' if self.max_range is not None else ' (rated range)'))

    def range_limit_m(self, model: SensorModel) -> float:
        """Farthest return kept for ``model``."""
        return model.max_range_m if self.max_range is None else self.max_range

    @property
    def sensor_model(self) -> SensorModel | None:
        return None if self.model.strip().lower() == 'auto' else model_by_name(self.model)

    @property
    def expected_return_mode(self) -> ReturnMode | None:
        if self.return_mode.strip().lower() == 'auto':
            return None
        return return_mode_by_name(self.return_mode)

    @property
    def stamp(self) -> StampSource:
        try:
            return StampSource(self.stamp_source.strip().lower())
        except ValueError:
            raise ConfigError(f'stamp_source {self.stamp_source!r} must be "device" (packet '
                              f'top-of-hour time) or "host" (receive time)') from None

    @property
    def crops_azimuth(self) -> bool:
        return not (self.min_azimuth == 0.0 and self.max_azimuth == 360.0)


def _rated_ranges() -> str:
    return ', '.join(f'{m.name} {m.max_range_m:g} m' for m in MODELS)
