"""ROS time stamps as Foxglove timestamps."""

from __future__ import annotations

from foxglove.messages import Timestamp


def foxglove_stamp(stamp) -> Timestamp:
    """A builtin_interfaces/Time (``sec``, ``nanosec``) as a Foxglove Timestamp."""
    return Timestamp(int(stamp.sec), int(stamp.nanosec))
