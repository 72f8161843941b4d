"""A known, physically consistent humanoid-torso motion for the emulators and the accuracy tests.

The torso stands still for ``still_s`` seconds (so start-up bias estimation can work), then
blends smoothly into walking: lateral sway (roll) at half the step frequency, pitch nodding at
the step frequency around a forward lean, a slow heading change, occasional bends, plus the
centre-of-mass bounce and sway as linear acceleration. Every channel is an enveloped sum of
sinusoids, so angles, rates and accelerations are exact analytic derivatives of one trajectory:

* gyro  = body angular velocity from the Z-Y-X Euler rates,
* accel = specific force: world acceleration plus gravity's reaction, rotated into the body.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from jetson_edge_imu import quaternion as quat

STANDARD_GRAVITY = 9.80665


@dataclass(frozen=True, slots=True)
class MotionState:
    """Truth at one instant: orientation (world <- body), body rates, specific force."""

    t: float
    orientation: quat.Quat
    angular_velocity: quat.Vec3
    specific_force: quat.Vec3


@dataclass(frozen=True, slots=True)
class _Wave:
    amplitude: float
    frequency_hz: float
    phase: float = 0.0

    def derivatives(self, t: float) -> tuple[float, float, float]:
        w = 2 * math.pi * self.frequency_hz
        s = math.sin(w * t + self.phase)
        c = math.cos(w * t + self.phase)
        a = self.amplitude
        return a * s, a * w * c, -a * w * w * s


class TorsoMotion:
    """Deterministic torso trajectory; ``state(t)`` gives the truth at time ``t`` seconds."""

    def __init__(
        self,
        *,
        still_s: float = 2.0,
        ramp_s: float = 1.5,
        step_hz: float = 1.8,
        intensity: float = 1.0,
    ) -> None:
        if still_s < 0 or ramp_s <= 0 or step_hz <= 0:
            raise ValueError('still_s >= 0, ramp_s > 0 and step_hz > 0 are required')
        self.still_s = still_s
        self.ramp_s = ramp_s
        d = math.radians
        k = intensity
        half = step_hz / 2
        self._roll = (_Wave(k * d(4.0), half), _Wave(k * d(1.0), step_hz, 0.7), _Wave(k * d(6.0), 0.13, 1.0))
        self._pitch = (_Wave(k * d(2.5), step_hz, 0.3), _Wave(k * d(12.0), 0.07, -1.2))
        self._yaw = (_Wave(k * d(25.0), 0.04), _Wave(k * d(2.0), half, 1.1))
        self._lean = k * d(4.0)
        self._x = (_Wave(k * 0.01, step_hz, 0.4),)
        self._y = (_Wave(k * 0.03, half, 0.2),)
        self._z = (_Wave(k * 0.02, step_hz, 0.9),)

    def _envelope(self, t: float) -> tuple[float, float, float]:
        """Smoothstep from still to walking, with its first and second derivatives."""
        if t <= self.still_s:
            return 0.0, 0.0, 0.0
        u = (t - self.still_s) / self.ramp_s
        if u >= 1.0:
            return 1.0, 0.0, 0.0
        T = self.ramp_s
        return 3 * u * u - 2 * u ** 3, (6 * u - 6 * u * u) / T, (6 - 12 * u) / (T * T)

    @staticmethod
    def _channel(waves: tuple[_Wave, ...], t: float, env: tuple[float, float, float],
                 offset: float = 0.0) -> tuple[float, float, float]:
        e0, e1, e2 = env
        v0 = v1 = v2 = 0.0
        for wave in waves:
            s0, s1, s2 = wave.derivatives(t)
            v0 += s0
            v1 += s1
            v2 += s2
        s0, s1, s2 = v0 + offset, v1, v2
        return e0 * s0, e1 * s0 + e0 * s1, e2 * s0 + 2 * e1 * s1 + e0 * s2

    def state(self, t: float) -> MotionState:
        env = self._envelope(t)
        roll, droll, _ = self._channel(self._roll, t, env)
        pitch, dpitch, _ = self._channel(self._pitch, t, env, self._lean)
        yaw, dyaw, _ = self._channel(self._yaw, t, env)
        sr, cr = math.sin(roll), math.cos(roll)
        sp, cp = math.sin(pitch), math.cos(pitch)
        omega = (
            droll - dyaw * sp,
            dpitch * cr + dyaw * cp * sr,
            dyaw * cp * cr - dpitch * sr,
        )
        ax = self._channel(self._x, t, env)[2]
        ay = self._channel(self._y, t, env)[2]
        az = self._channel(self._z, t, env)[2]
        q = quat.from_euler(roll, pitch, yaw)
        force = quat.rotate(quat.conjugate(q), (ax, ay, az + STANDARD_GRAVITY))
        return MotionState(t, q, omega, force)

    def position(self, t: float) -> quat.Vec3:
        """Torso displacement from its mean walking path (m): the bounce and sway."""
        env = self._envelope(t)
        return tuple(self._channel(c, t, env)[0] for c in (self._x, self._y, self._z))
