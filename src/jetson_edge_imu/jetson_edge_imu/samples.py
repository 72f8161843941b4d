"""Device-independent sample types passed from the device classes to the processing chain."""

from __future__ import annotations

from dataclasses import dataclass

from jetson_edge_imu.quaternion import Quat, Vec3


@dataclass(slots=True)
class DeviceSample:
    """One reading in the sensor frame, SI units, as the device reported it.

    ``raw`` is the undecoded register bytes: identical bytes over many samples mean a stuck
    sensor. ``orientation`` is set only when the device computes its own fusion.
    """

    accel: Vec3
    gyro: Vec3
    raw: bytes
    saturated: bool = False
    orientation: Quat | None = None
    temperature: float | None = None
    samples_before: int = 0  # how many newer samples were read in the same batch (FIFO)
    mag: Vec3 | None = None  # magnetic field (T) when a magnetometer reading came with it


@dataclass(slots=True)
class ImuReading:
    """One processed reading in the body frame, ready to publish."""

    stamp_ns: int
    accel: Vec3
    gyro: Vec3
    orientation: Quat | None
    temperature: float | None
    mag: Vec3 | None = None  # tesla, body frame
