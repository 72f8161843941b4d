"""A decoded LiDAR scan (one rotation) and how its timestamp is made.

Points use the layout the Velodyne ROS driver and PCL's ``PointXYZIRT`` use, so downstream
code built for them reads our clouds unchanged: x, y, z float32 at offsets 0/4/8, intensity
float32 at 16, ring uint16 at 20, time float32 at 24 (seconds since the scan's first point),
32 bytes per point. Coordinates follow REP 103: x forward (azimuth 0), y left, z up.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

from .models import ReturnMode

POINT_DTYPE = np.dtype({
    'names': ['x', 'y', 'z', 'intensity', 'ring', 'time'],
    'formats': ['<f4', '<f4', '<f4', '<f4', '<u2', '<f4'],
    'offsets': [0, 4, 8, 16, 20, 24],
    'itemsize': 32,
})

SECONDS_PER_HOUR = 3600.0


class StampSource(enum.Enum):
    """Where a scan's timestamp comes from."""

    #: The packets' microseconds-past-the-hour (GPS/PPS-synchronized sensors), joined to
    #: the host clock's hour.
    DEVICE = 'device'
    #: The host clock when the packets arrived, corrected for the packet's duration.
    HOST = 'host'


@dataclass(frozen=True)
class Scan:
    """One rotation's points plus where and when they came from."""

    points: np.ndarray
    #: Time of the first point, seconds since the epoch, from the configured stamp source.
    stamp: float
    device_stamp: float
    host_stamp: float
    model: str
    return_mode: ReturnMode
    packets: int
    #: True when the scan both started and ended at the cut angle; False for the first scan
    #: after start-up, a stream interruption or a model/mode change, and for finish().
    complete: bool

    def __len__(self) -> int:
        return len(self.points)


def join_top_of_hour(us_past_hour: float, host_time: float) -> float:
    """Absolute time of a top-of-hour timestamp: the candidate hour nearest ``host_time``.

    The sensor only knows microseconds past the hour; the host supplies the hour. Near an
    hour boundary the two may disagree (packet from 10:59:59.9, host already at 11:00:00.1),
    so the result is the reading within half an hour of the host clock.
    """
    hour_start = math.floor(host_time / SECONDS_PER_HOUR) * SECONDS_PER_HOUR
    stamp = hour_start + us_past_hour * 1e-6
    if stamp - host_time > SECONDS_PER_HOUR / 2:
        stamp -= SECONDS_PER_HOUR
    elif host_time - stamp > SECONDS_PER_HOUR / 2:
        stamp += SECONDS_PER_HOUR
    return stamp
