"""The driver's configuration as one validated dataclass (the node fills it from parameters;
tests and the benchmark build it directly)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from jetson_edge_imu import mpu_registers as mpu_reg
from jetson_edge_imu.bno055 import MODES_BY_NAME
from jetson_edge_imu.errors import ConfigError
from jetson_edge_imu.mpu import MAGNETOMETER_ROUTES

DEVICE_TYPES = ('bno055', 'mpu6050', 'mpu6500', 'mpu9250', 'mpu')
INTERFACES = ('uart', 'i2c', 'spi')
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
    spi_bus: int = 0
    spi_chip_select: int = 0
    spi_config_hz: int = mpu_reg.SPI_CONFIG_HZ_MAX
    spi_read_hz: int = mpu_reg.SPI_SENSOR_HZ_MAX
    spi_backend: str = 'spidev'
    magnetometer: str = 'master'
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
        if self.device_type != 'bno055' and self.interface == 'uart':
            raise ConfigError(f'{self.device_type} has no UART protocol; use interface i2c')
        if self.interface == 'spi' and self.device_type not in (*mpu_reg.SPI_CHIPS, 'mpu'):
            raise ConfigError(f'{self.device_type} has no SPI interface (of the supported '
                              f'chips only {" and ".join(mpu_reg.SPI_CHIPS)} do); use interface '
                              'i2c')
        if not 0 < self.spi_config_hz <= mpu_reg.SPI_CONFIG_HZ_MAX:
            raise ConfigError(f'spi_config_hz must be 1..{mpu_reg.SPI_CONFIG_HZ_MAX} (the MPU\'s '
                              f'limit for its configuration registers), got {self.spi_config_hz}')
        if not 0 < self.spi_read_hz <= mpu_reg.SPI_SENSOR_HZ_MAX:
            raise ConfigError(f'spi_read_hz must be 1..{mpu_reg.SPI_SENSOR_HZ_MAX}, got '
                              f'{self.spi_read_hz}')
        if self.magnetometer not in MAGNETOMETER_ROUTES:
            raise ConfigError(f'magnetometer {self.magnetometer!r} is not one of '
                              f'{MAGNETOMETER_ROUTES}')
        if self.magnetometer == 'bypass' and self.interface != 'i2c':
            raise ConfigError('magnetometer bypass puts the AK8963 on the host\'s I2C bus: it '
                              'needs interface i2c; over SPI use magnetometer master')
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
