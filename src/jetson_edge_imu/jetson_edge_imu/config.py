"""The driver's configuration as one validated dataclass (the node fills it from parameters;
tests and the benchmark build it directly)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from jetson_edge_imu.bno055 import MODES_BY_NAME
from jetson_edge_imu.errors import ConfigError

DEVICE_TYPES = ('bno055', 'mpu6050', 'mpu6500', 'mpu9250', 'mpu')
INTERFACES = ('uart', 'i2c')
FILTERS = ('device', 'madgwick', 'complementary')


@dataclass(frozen=True)
class DriverConfig:
    device_type: str = 'bno055'
    interface: str = 'uart'
    port: str = '/dev/ttyTHS1'
    baud: int = 115200
    i2c_bus: int = 1
    i2c_address: int = 0x28
    i2c_bus_hz: int = 400_000
    rate_hz: int = 100
    bno055_mode: str = 'ndof'
    filter: str = 'device'
    filter_gain: float = 0.05
    mount_rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)
    calibration_file: str = ''
    calibration_autosave: bool = True
    estimate_bias: bool = True
    bias_window_s: float = 1.0
    bias_timeout_s: float = 30.0
    dlpf: int = 3
    gyro_range_dps: int = 2000
    accel_range_g: int = 8
    use_fifo: bool = True
    fifo_poll_hz: float = 100.0
    stuck_after_s: float = 0.5
    stale_after_periods: int = 10
    fixed_latency_s: float = 0.0
    status_period_s: float = 1.0
    max_consecutive_frame_errors: int = 25
    reconnect_initial_s: float = 0.1
    reconnect_max_s: float = 5.0
    orientation_stddev: float = math.radians(1.0)

    def validate(self) -> 'DriverConfig':
        """Return self, or raise ``ConfigError`` saying which value is wrong and why."""
        if self.device_type not in DEVICE_TYPES:
            raise ConfigError(f'device_type {self.device_type!r} is not one of {DEVICE_TYPES}')
        if self.interface not in INTERFACES:
            raise ConfigError(f'interface {self.interface!r} is not one of {INTERFACES}')
        if self.device_type != 'bno055' and self.interface != 'i2c':
            raise ConfigError(f'{self.device_type} has no UART protocol; use interface i2c')
        if self.filter not in FILTERS:
            raise ConfigError(f'filter {self.filter!r} is not one of {FILTERS}')
        if self.device_type == 'bno055':
            if self.bno055_mode not in MODES_BY_NAME:
                raise ConfigError(f'bno055_mode {self.bno055_mode!r} is not one of '
                                  f'{sorted(MODES_BY_NAME)}')
            fusion = MODES_BY_NAME[self.bno055_mode].is_fusion
            if self.filter == 'device' and not fusion:
                raise ConfigError(f'filter device needs a BNO055 fusion mode (imu, ndof, ...), '
                                  f'not {self.bno055_mode}; or choose madgwick/complementary')
        elif self.filter == 'device':
            raise ConfigError(f'{self.device_type} has no on-chip fusion; choose filter '
                              'madgwick or complementary')
        if not 1 <= self.rate_hz <= 8000:
            raise ConfigError(f'rate_hz must be 1..8000, got {self.rate_hz}')
        if self.filter_gain < 0:
            raise ConfigError('filter_gain must be >= 0')
        if len(self.mount_rpy) != 3:
            raise ConfigError('mount_rpy needs three angles (roll, pitch, yaw) in radians')
        if self.stale_after_periods < 1:
            raise ConfigError(f'stale_after_periods must be >= 1, got {self.stale_after_periods}')
        if self.bias_window_s <= 0 or self.bias_timeout_s < 0:
            raise ConfigError('bias_window_s must be > 0 and bias_timeout_s >= 0')
        return self

    @property
    def uses_host_filter(self) -> bool:
        return self.filter in ('madgwick', 'complementary')
