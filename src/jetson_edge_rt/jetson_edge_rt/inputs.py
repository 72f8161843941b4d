"""Controller inputs as immutable samples, and their conversion from ROS messages (duck-typed, no rclpy).

Samples are built in the subscription callback (not real-time) and handed to the loop through a
`LatestValue`; the loop only reads their fields.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple


class ImuSample(NamedTuple):
    """One sensor_msgs/Imu reading. `received_ns` is the executor's monotonic clock at reception,
    which the watchdog compares against (header stamps may be on another clock, e.g. sim time)."""

    qx: float
    qy: float
    qz: float
    qw: float
    wx: float
    wy: float
    wz: float
    received_ns: int
    orientation_valid: bool


def imu_sample_from_msg(msg: Any, received_ns: int) -> ImuSample:
    """Build an ImuSample from a sensor_msgs/Imu.

    Per REP 145 an orientation covariance whose first element is -1 means the driver provides no
    orientation; that, a non-finite quaternion or one far from unit norm marks the orientation invalid
    (the controller then refuses to act on it).
    """
    o = msg.orientation
    w = msg.angular_velocity
    q = (float(o.x), float(o.y), float(o.z), float(o.w))
    norm = math.sqrt(sum(c * c for c in q)) if all(math.isfinite(c) for c in q) else float('nan')
    valid = msg.orientation_covariance[0] != -1.0 and math.isfinite(norm) and abs(norm - 1.0) < 0.05
    if valid:
        q = tuple(c / norm for c in q)
    return ImuSample(q[0], q[1], q[2], q[3], float(w.x), float(w.y), float(w.z), received_ns, valid)


def roll_pitch_from_quaternion(qx: float, qy: float, qz: float, qw: float) -> tuple[float, float]:
    """Roll (about x) and pitch (about y) of a body orientation, ZYX convention, in radians."""
    roll = math.atan2(2.0 * (qw * qx + qy * qz), 1.0 - 2.0 * (qx * qx + qy * qy))
    s = 2.0 * (qw * qy - qz * qx)
    pitch = math.asin(1.0 if s > 1.0 else -1.0 if s < -1.0 else s)
    return roll, pitch
