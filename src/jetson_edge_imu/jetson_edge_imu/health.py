"""Sensor health: per-sample plausibility (drop) and saturation (flag), stuck-sensor detection,
link state and counters, summarized into one status a diagnostics publisher can show."""

from __future__ import annotations

import math
from dataclasses import dataclass

from jetson_edge_common.diagnostics import Level
from jetson_edge_imu.samples import DeviceSample


@dataclass(frozen=True, slots=True)
class PlausibilityLimits:
    accel_max: float = 16 * 9.80665 * 1.05  # beyond any supported full scale
    gyro_max: float = math.radians(2000) * 1.05
    temperature_range: tuple[float, float] = (-45.0, 130.0)
    quaternion_norm_tolerance: float = 0.05


class HealthMonitor:
    """``check(sample)`` says whether a sample may be published; ``summary()`` reports."""

    def __init__(self, *, stuck_after: int, limits: PlausibilityLimits | None = None,
                 recent_window: int = 1000) -> None:
        self.stuck_after = stuck_after
        self.limits = limits or PlausibilityLimits()
        self.recent_window = recent_window
        self.samples = 0
        self.published = 0
        self.implausible = 0
        self.saturated = 0
        self.io_errors = 0
        self.disconnects = 0
        self.reconnects = 0
        self.identical_run = 0
        self.stuck = False
        self.connected = False
        self.last_problem = ''
        self._last_raw: bytes | None = None
        self._last_bad_at = -recent_window - 1  # sample index of the last dropped/saturated

    def check(self, s: DeviceSample) -> bool:
        self.samples += 1
        if s.raw == self._last_raw:
            self.identical_run += 1
            if self.identical_run >= self.stuck_after and not self.stuck:
                self.stuck = True
                self.last_problem = (f'sensor stuck: {self.identical_run + 1} identical samples '
                                     'in a row')
        else:
            self.identical_run = 0
            self.stuck = False
        self._last_raw = s.raw
        problem = self._implausible(s)
        if problem:
            self.implausible += 1
            self._last_bad_at = self.samples
            self.last_problem = f'implausible sample dropped: {problem}'
            return False
        if s.saturated:
            self.saturated += 1
            self._last_bad_at = self.samples
            self.last_problem = 'sample at full scale (saturated): raise the range'
        return not self.stuck

    def _implausible(self, s: DeviceSample) -> str:
        lim = self.limits
        ax, ay, az = s.accel
        gx, gy, gz = s.gyro
        a2 = ax * ax + ay * ay + az * az
        g2 = gx * gx + gy * gy + gz * gz
        if not (math.isfinite(a2) and math.isfinite(g2)):
            return 'non-finite value'
        if a2 > lim.accel_max * lim.accel_max:
            return f'acceleration beyond {lim.accel_max:.0f} m/s^2'
        if g2 > lim.gyro_max * lim.gyro_max:
            return f'angular rate beyond {lim.gyro_max:.1f} rad/s'
        t = s.temperature
        if t is not None and not lim.temperature_range[0] <= t <= lim.temperature_range[1]:
            return f'temperature {t:.1f} C outside the operating range'
        q = s.orientation
        if q is not None:
            n = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
            if abs(n - 1.0) > lim.quaternion_norm_tolerance:
                return f'quaternion norm {n:.3f} is not 1'
        return ''

    def link_error(self, message: str) -> None:
        self.io_errors += 1
        self.last_problem = message

    def link_down(self, message: str) -> None:
        if self.connected:
            self.disconnects += 1
        self.connected = False
        self.last_problem = message

    def link_up(self) -> None:
        if self.disconnects:
            self.reconnects += 1
        self.connected = True

    def summary(self) -> tuple[Level, str]:
        if not self.connected:
            return Level.ERROR, f'disconnected: {self.last_problem}'
        if self.stuck:
            return Level.ERROR, self.last_problem
        if self.samples - self._last_bad_at <= self.recent_window:
            return Level.WARN, self.last_problem
        return Level.OK, 'ok'

    def values(self) -> dict[str, int]:
        return {
            'samples': self.samples, 'published': self.published,
            'implausible_dropped': self.implausible, 'saturated': self.saturated,
            'io_errors': self.io_errors, 'disconnects': self.disconnects,
            'reconnects': self.reconnects, 'identical_run': self.identical_run,
        }
