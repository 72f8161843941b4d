"""Datasheet facts of the supported devices: noise densities, ranges, scale factors.

The driver derives its published covariances from these, and the emulators derive their noise
from the same numbers, so a consistent covariance is something the tests can check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from jetson_edge_imu.motion import STANDARD_GRAVITY

_DPS = math.pi / 180.0
_UG = 1e-6 * STANDARD_GRAVITY


@dataclass(frozen=True, slots=True)
class NoiseSpec:
    """White-noise densities from the datasheet (per root hertz), in SI units."""

    gyro_density: float  # rad/s/sqrt(Hz)
    accel_density: float  # m/s^2/sqrt(Hz)

    def gyro_sigma(self, bandwidth_hz: float) -> float:
        return self.gyro_density * math.sqrt(bandwidth_hz)

    def accel_sigma(self, bandwidth_hz: float) -> float:
        return self.accel_density * math.sqrt(bandwidth_hz)


# MPU-6050 product specification rev 3.4: gyro rate noise 0.005 deg/s/rtHz, accel 400 ug/rtHz.
MPU6050_NOISE = NoiseSpec(0.005 * _DPS, 400 * _UG)
# MPU-9250 product specification rev 1.1: gyro 0.01 deg/s/rtHz, accel 300 ug/rtHz.
MPU9250_NOISE = NoiseSpec(0.01 * _DPS, 300 * _UG)
# BNO055 data sheet rev 1.4, table 0-2: gyro 0.014 deg/s/rtHz, accel 150 ug/rtHz.
BNO055_NOISE = NoiseSpec(0.014 * _DPS, 150 * _UG)

NOISE_BY_DEVICE = {
    'mpu6050': MPU6050_NOISE,
    'mpu6500': MPU9250_NOISE,
    'mpu9250': MPU9250_NOISE,
    'bno055': BNO055_NOISE,
}
