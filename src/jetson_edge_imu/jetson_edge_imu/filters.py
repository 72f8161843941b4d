"""Orientation filters for IMUs without on-chip fusion: Madgwick and a complementary filter.

Both estimate the world <- sensor orientation (REP 103: z up) from gyro and accelerometer,
integrate the gyro, and pull roll and pitch toward the measured gravity direction. Yaw is
unobservable without a magnetometer and only integrates. With one (``update(..., mag=...)``,
Madgwick's MARG form), the samples that carry a field reading also pull yaw so that the field's
horizontal part points along +y: the world frame is then east-north-up with *magnetic* north
(the local declination is not applied). The field's reference is taken from the measurement
itself (its horizontal and vertical parts in the current estimate), so the dip angle needs no
setting. When the accelerometer's magnitude is far from
1 g (a foot strike, a push) the correction is skipped for that sample: its direction is not
gravity's then. Plain floats, no numpy: this runs per sample at up to 1 kHz.
"""

from __future__ import annotations

import math
from typing import Protocol

from jetson_edge_imu import quaternion as quat
from jetson_edge_imu.motion import STANDARD_GRAVITY


class OrientationFilter(Protocol):
    """What the driver and the node use of a filter; ``gain`` is its correction gain (the
    ``filter_gain`` parameter), whatever the filter's own paper calls it."""

    orientation: quat.Quat | None
    gain: float

    def update(self, gyro: quat.Vec3, accel: quat.Vec3, dt: float, *,
               mag: quat.Vec3 | None = None) -> quat.Quat: ...

    def reset(self) -> None: ...


def orientation_from_accel(accel: quat.Vec3, mag: quat.Vec3 | None = None) -> quat.Quat:
    """Roll and pitch that put gravity along the measured specific force; yaw zero, or, with a
    magnetic field, the yaw that puts its horizontal part along +y (magnetic north)."""
    ax, ay, az = accel
    roll = math.atan2(ay, az)
    pitch = math.atan2(-ax, math.hypot(ay, az))
    q = quat.from_euler(roll, pitch, 0.0)
    if mag is None:
        return q
    hx, hy, _ = quat.rotate(q, mag)
    if hx == 0.0 and hy == 0.0:
        return q
    return quat.from_euler(roll, pitch, math.pi / 2 - math.atan2(hy, hx))


def _field_reference(q: quat.Quat, m: quat.Vec3) -> tuple[float, float]:
    """(north, up) parts of the unit field ``m`` (sensor frame) in the world per ``q``."""
    wx, wy, wz = quat.rotate(q, m)
    return math.sqrt(wx * wx + wy * wy), wz


def _field_gradient(q: quat.Quat, by: float, bz: float,
                    m: quat.Vec3) -> tuple[float, float, float, float]:
    """Gradient over (w, x, y, z) of |R(q)^T b - m|^2 / 2 for a world direction b = (0, by, bz)
    and its measurement ``m`` in the sensor frame (unit vectors)."""
    w, x, y, z = q
    # predicted b in the sensor frame, minus the measurement
    fx = 2 * by * (x * y + w * z) + 2 * bz * (x * z - w * y) - m[0]
    fy = by * (1 - 2 * x * x - 2 * z * z) + 2 * bz * (y * z + w * x) - m[1]
    fz = 2 * by * (y * z - w * x) + bz * (1 - 2 * x * x - 2 * y * y) - m[2]
    return (
        (2 * by * z - 2 * bz * y) * fx + 2 * bz * x * fy - 2 * by * x * fz,
        (2 * by * y + 2 * bz * z) * fx + (2 * bz * w - 4 * by * x) * fy
        - (2 * by * w + 4 * bz * x) * fz,
        (2 * by * x - 2 * bz * w) * fx + 2 * bz * z * fy + (2 * by * z - 4 * bz * y) * fz,
        (2 * by * w + 2 * bz * x) * fx + (2 * bz * y - 4 * by * z) * fy + 2 * by * y * fz,
    )


def _unit(v: quat.Vec3) -> quat.Vec3 | None:
    n = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    return (v[0] / n, v[1] / n, v[2] / n) if n > 0.0 else None


def _accel_usable(accel: quat.Vec3, gate: float) -> float:
    """Norm of the accelerometer if its direction can be trusted as gravity's, else 0."""
    n = math.sqrt(accel[0] * accel[0] + accel[1] * accel[1] + accel[2] * accel[2])
    if n == 0.0 or abs(n - STANDARD_GRAVITY) > gate * STANDARD_GRAVITY:
        return 0.0
    return n


class _GravityAidedFilter:
    """What both filters share: the first sample sets the orientation from gravity alone;
    later ones go to ``_step``. ``reset`` starts over."""

    def __init__(self, *, accel_gate: float) -> None:
        self.accel_gate = accel_gate
        self.orientation: quat.Quat | None = None

    def reset(self) -> None:
        self.orientation = None

    def update(self, gyro: quat.Vec3, accel: quat.Vec3, dt: float, *,
               mag: quat.Vec3 | None = None) -> quat.Quat:
        m = _unit(mag) if mag is not None else None
        if self.orientation is None:
            self.orientation = orientation_from_accel(accel, m)
        else:
            self.orientation = self._step(self.orientation, gyro, accel, dt, m)
        return self.orientation

    def _step(self, q: quat.Quat, gyro: quat.Vec3, accel: quat.Vec3, dt: float,
              mag: quat.Vec3 | None) -> quat.Quat:
        raise NotImplementedError


class MadgwickFilter(_GravityAidedFilter):
    """Madgwick's gradient-descent filter (IMU form). ``beta`` is the gradient step (rad/s),
    about sqrt(3/4) times the gyro's angle-rate error."""

    def __init__(self, *, beta: float = 0.05, accel_gate: float = 0.5) -> None:
        if beta < 0:
            raise ValueError('beta must be >= 0')
        super().__init__(accel_gate=accel_gate)
        self.beta = beta

    @property
    def gain(self) -> float:
        """``beta`` under the name every filter shares."""
        return self.beta

    @gain.setter
    def gain(self, value: float) -> None:
        self.beta = value

    def _step(self, q: quat.Quat, gyro: quat.Vec3, accel: quat.Vec3, dt: float,
              mag: quat.Vec3 | None) -> quat.Quat:
        q0, q1, q2, q3 = q
        gx, gy, gz = gyro
        # Rate of change from the gyro: 0.5 * q (x) (0, w)
        d0 = 0.5 * (-q1 * gx - q2 * gy - q3 * gz)
        d1 = 0.5 * (q0 * gx + q2 * gz - q3 * gy)
        d2 = 0.5 * (q0 * gy - q1 * gz + q3 * gx)
        d3 = 0.5 * (q0 * gz + q1 * gy - q2 * gx)
        n = _accel_usable(accel, self.accel_gate)
        if n and self.beta:
            ax, ay, az = accel[0] / n, accel[1] / n, accel[2] / n
            # Objective: gravity predicted in the sensor frame minus the measured direction.
            f0 = 2 * (q1 * q3 - q0 * q2) - ax
            f1 = 2 * (q0 * q1 + q2 * q3) - ay
            f2 = 2 * (0.5 - q1 * q1 - q2 * q2) - az
            # Gradient J^T f
            s0 = -2 * q2 * f0 + 2 * q1 * f1
            s1 = 2 * q3 * f0 + 2 * q0 * f1 - 4 * q1 * f2
            s2 = -2 * q0 * f0 + 2 * q3 * f1 - 4 * q2 * f2
            s3 = 2 * q1 * f0 + 2 * q2 * f1
            if mag is not None:
                by, bz = _field_reference(q, mag)
                m0, m1, m2, m3 = _field_gradient(q, by, bz, mag)
                s0, s1, s2, s3 = s0 + m0, s1 + m1, s2 + m2, s3 + m3
            sn = math.sqrt(s0 * s0 + s1 * s1 + s2 * s2 + s3 * s3)
            if sn > 0:
                k = self.beta / sn
                d0 -= k * s0
                d1 -= k * s1
                d2 -= k * s2
                d3 -= k * s3
        return quat.normalize((q0 + d0 * dt, q1 + d1 * dt, q2 + d2 * dt, q3 + d3 * dt))


class ComplementaryFilter(_GravityAidedFilter):
    """Mahony's explicit complementary filter on SO(3), proportional term: the gyro rate is
    corrected by ``gain`` (1/s, the crossover frequency in rad/s) times the cross product of the
    measured and the predicted gravity direction; with a magnetometer, the rate about the
    vertical also by ``gain`` times the heading error of the field's horizontal part."""

    def __init__(self, *, gain: float = 0.5, accel_gate: float = 0.5) -> None:
        if gain < 0:
            raise ValueError('gain must be >= 0')
        super().__init__(accel_gate=accel_gate)
        self.gain = gain

    def _step(self, q: quat.Quat, gyro: quat.Vec3, accel: quat.Vec3, dt: float,
              mag: quat.Vec3 | None) -> quat.Quat:
        q0, q1, q2, q3 = q
        gx, gy, gz = gyro
        n = _accel_usable(accel, self.accel_gate)
        if n and self.gain:
            ax, ay, az = accel[0] / n, accel[1] / n, accel[2] / n
            # Predicted gravity direction in the sensor frame: R^T e_z
            vx = 2 * (q1 * q3 - q0 * q2)
            vy = 2 * (q0 * q1 + q2 * q3)
            vz = q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3
            k = self.gain
            gx += k * (ay * vz - az * vy)
            gy += k * (az * vx - ax * vz)
            gz += k * (ax * vy - ay * vx)
            if mag is not None:
                # Heading only: the field's horizontal angle from +y in the world, corrected
                # about the world's vertical (v in the sensor frame), whatever the dip angle.
                wx, wy, _ = quat.rotate(q, mag)
                if wx or wy:
                    e = k * math.atan2(wx, wy)
                    gx += e * vx
                    gy += e * vy
                    gz += e * vz
        h = 0.5 * dt
        return quat.normalize((
            q0 + h * (-q1 * gx - q2 * gy - q3 * gz),
            q1 + h * (q0 * gx + q2 * gz - q3 * gy),
            q2 + h * (q0 * gy - q1 * gz + q3 * gx),
            q3 + h * (q0 * gz + q1 * gy - q2 * gx),
        ))


def make_filter(name: str, *, gain: float) -> OrientationFilter:
    if name == 'madgwick':
        return MadgwickFilter(beta=gain)
    if name == 'complementary':
        return ComplementaryFilter(gain=gain)
    raise ValueError(f"unknown filter {name!r}; choose 'madgwick' or 'complementary'")
