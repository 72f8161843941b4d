"""Parameter schema of the IMU driver node, declared once here (the node declares from it;
setup.py registers it for the profile checks)."""

from __future__ import annotations

from jetson_edge_common.params import ParamSpec

from jetson_edge_imu.config import DEVICE_TYPES, FILTERS, INTERFACES, DriverConfig
from jetson_edge_imu.mpu import MAGNETOMETER_ROUTES
from jetson_edge_imu.mpu_registers import (ACCEL_RANGES_G, GYRO_RANGES_DPS, SPI_CONFIG_HZ_MAX,
                                           SPI_SENSOR_HZ_MAX)

_D = DriverConfig()

IMU_NODE = [
    ParamSpec('device_type', _D.device_type, 'IMU chip: bno055, mpu6050, mpu6500, mpu9250, or '
              'mpu (detect the MPU variant from WHO_AM_I).', choices=DEVICE_TYPES, read_only=True),
    ParamSpec('interface', _D.interface, 'Bus to the device: uart (BNO055 only), i2c, or spi '
              '(MPU-6500/9250 only).', choices=INTERFACES, read_only=True),
    ParamSpec('port', _D.port, 'Serial port for interface uart (a tty, or the emulator\'s pty '
              'symlink); opened again with back-off until it exists.', read_only=True),
    ParamSpec('baud', _D.baud, 'UART bit rate. The BNO055 data sheet fixes 115200; higher '
              'values only make sense behind a pty or a bridge. Also used for the wire-time '
              'stamp correction.', min_value=9600, max_value=4_000_000, read_only=True),
    ParamSpec('i2c_bus', _D.i2c_bus, 'I2C bus number N of /dev/i2c-N.', min_value=0,
              max_value=255, read_only=True),
    ParamSpec('i2c_address', _D.i2c_address, '7-bit I2C address (BNO055 0x28/0x29 = 40/41, '
              'MPU 0x68/0x69 = 104/105).', min_value=3, max_value=119, read_only=True),
    ParamSpec('i2c_bus_hz', _D.i2c_bus_hz, 'I2C clock, for the wire-time stamp correction.',
              min_value=10_000, max_value=3_400_000, read_only=True),
    ParamSpec('spi_bus', _D.spi_bus, 'SPI bus B of /dev/spidevB.C (interface spi).',
              min_value=0, max_value=255, read_only=True),
    ParamSpec('spi_chip_select', _D.spi_chip_select, 'SPI chip select C of /dev/spidevB.C.',
              min_value=0, max_value=255, read_only=True),
    ParamSpec('spi_config_hz', _D.spi_config_hz, 'SPI clock for writes and configuration '
              'reads; the MPU allows at most 1 MHz there.', min_value=1,
              max_value=SPI_CONFIG_HZ_MAX, read_only=True),
    ParamSpec('spi_read_hz', _D.spi_read_hz, 'SPI clock for reads of the sensor, interrupt '
              'and FIFO registers; the MPU allows at most 20 MHz.', min_value=1,
              max_value=SPI_SENSOR_HZ_MAX, read_only=True),
    ParamSpec('spi_backend', _D.spi_backend, 'spidev: the spidev package on /dev/spidevB.C; '
              'another name: a stand-in an installed package registers (jetson_edge_sim\'s sim '
              'emulates an MPU-9250 inside this process).', read_only=True),
    ParamSpec('magnetometer', _D.magnetometer, 'MPU-9250 AK8963 magnetometer: master (through '
              'the MPU\'s auxiliary I2C master, the only route over SPI), bypass (on the host\'s '
              'I2C bus, interface i2c) or off. Ignored for chips without one. When read, it is '
              'published on mag_topic and the host filter references yaw to magnetic north.',
              choices=MAGNETOMETER_ROUTES, read_only=True),
    ParamSpec('rate_hz', _D.rate_hz, 'Sample rate. MPU: must be 1000/(1+n) (8000/(1+n) with '
              'dlpf 0). BNO055: polling rate; its fusion output updates at 100 Hz.',
              min_value=1, max_value=1000, read_only=True),
    ParamSpec('bno055_mode', _D.bno055_mode, 'BNO055 operating mode: fusion (imu, ndof, '
              'ndof_fmc_off) or raw (amg, accgyro).',
              choices=('amg', 'accgyro', 'imu', 'ndof_fmc_off', 'ndof'), read_only=True),
    ParamSpec('filter', _D.filter, 'Orientation source: device (BNO055 fusion), madgwick or '
              'complementary (host filters on gyro and accelerometer).', choices=FILTERS,
              read_only=True),
    ParamSpec('filter_gain', _D.filter_gain, 'Madgwick beta (rad/s) or complementary filter '
              'gain (1/s).', min_value=0.0, max_value=10.0, dynamic=True),
    ParamSpec('mount_rpy', list(_D.mount_rpy), 'Sensor orientation in the body frame (roll, '
              'pitch, yaw in rad, REP 103): data is rotated into frame_id.', read_only=True),
    ParamSpec('frame_id', 'imu_link', 'frame_id of published messages (the body frame).',
              read_only=True),
    ParamSpec('calibration_file', _D.calibration_file, 'BNO055 calibration offsets file: '
              'restored at start, written once fully calibrated. Empty: none.', read_only=True),
    ParamSpec('calibration_autosave', _D.calibration_autosave, 'Save BNO055 offsets when the '
              'device first reports full calibration.', read_only=True),
    ParamSpec('estimate_bias', _D.estimate_bias, 'Estimate gyro bias at start while still '
              '(raw modes and host filters).', read_only=True),
    ParamSpec('bias_window_s', _D.bias_window_s, 'Stillness window for the bias estimate.',
              min_value=0.1, max_value=30.0, read_only=True),
    ParamSpec('bias_timeout_s', _D.bias_timeout_s, 'Give up bias estimation (zero bias, WARN) '
              'after this long in motion; 0 waits forever.', min_value=0.0, max_value=600.0,
              read_only=True),
    ParamSpec('dlpf', _D.dlpf, 'MPU DLPF_CFG 0..6 (MPU-6050 accel bandwidth 260, 184, 94, 44, '
              '21, 10, 5 Hz).', min_value=0, max_value=6, read_only=True),
    ParamSpec('gyro_range_dps', _D.gyro_range_dps, 'MPU gyro full scale.',
              choices=GYRO_RANGES_DPS, read_only=True),
    ParamSpec('accel_range_g', _D.accel_range_g, 'MPU accelerometer full scale.',
              choices=ACCEL_RANGES_G, read_only=True),
    ParamSpec('use_fifo', _D.use_fifo, 'MPU: read batches from the FIFO (no sample lost '
              'between polls) instead of polling data-ready.', read_only=True),
    ParamSpec('fifo_poll_hz', _D.fifo_poll_hz, 'MPU FIFO polling rate.', min_value=1.0,
              max_value=1000.0, read_only=True),
    ParamSpec('stuck_after_s', _D.stuck_after_s, 'Identical samples for this long mean a '
              'stuck sensor (ERROR, not published).', min_value=0.01, max_value=60.0,
              read_only=True),
    ParamSpec('stale_after_periods', _D.stale_after_periods, 'No sample from the device for '
              'this many input periods (1/rate_hz, or the MPU FIFO poll period when longer) is '
              'an ERROR on /diagnostics: a device that stopped answering.', min_value=1,
              max_value=100_000, read_only=True),
    ParamSpec('fixed_latency_s', _D.fixed_latency_s, 'Extra latency subtracted from stamps '
              '(adapter, driver); the wire time is computed.', min_value=0.0, max_value=0.1,
              read_only=True),
    ParamSpec('status_period_s', _D.status_period_s, 'BNO055: read temperature and '
              'calibration status this often.', min_value=0.01, max_value=60.0, read_only=True),
    ParamSpec('max_consecutive_frame_errors', _D.max_consecutive_frame_errors, 'Protocol '
              'errors in a row that count as a lost link (reconnect).', min_value=1,
              max_value=10000, read_only=True),
    ParamSpec('reconnect_initial_s', _D.reconnect_initial_s, 'First reconnect delay; doubles '
              'per failure.', min_value=0.01, max_value=10.0, read_only=True),
    ParamSpec('reconnect_max_s', _D.reconnect_max_s, 'Reconnect delay cap.', min_value=0.1,
              max_value=60.0, read_only=True),
    ParamSpec('orientation_stddev', _D.orientation_stddev, 'Orientation standard deviation '
              '(rad) for orientation_covariance; yaw gets pi^2 without a heading reference '
              '(magnetometer).',
              min_value=0.0, max_value=3.2, read_only=True),
    ParamSpec('reader_priority', 0, 'SCHED_FIFO priority of the reader thread (1..99); 0 '
              'keeps normal scheduling. Needs CAP_SYS_NICE or an rtprio limit; refused '
              'permission is reported on /diagnostics and the driver runs on.', min_value=0,
              max_value=99, read_only=True),
    ParamSpec('temperature_rate_hz', 1.0, 'Rate of imu/temperature messages.', min_value=0.1,
              max_value=100.0, read_only=True),
    ParamSpec('publish_raw', True, 'Publish imu/data_raw (no orientation).', read_only=True),
    ParamSpec('data_raw_topic', 'imu/data_raw', 'Topic of raw data.', read_only=True),
    ParamSpec('data_topic', 'imu/data', 'Topic of data with orientation.', read_only=True),
    ParamSpec('temperature_topic', 'imu/temperature', 'Topic of the die temperature.',
              read_only=True),
    ParamSpec('mag_topic', 'imu/mag', 'Topic of the magnetic field (sensor_msgs/MagneticField, '
              'tesla, body frame), when a magnetometer is read.', read_only=True),
    ParamSpec('diagnostics_period_s', 1.0, 'Period of /diagnostics status.', min_value=0.1,
              max_value=60.0, read_only=True),
    ParamSpec('warn_period_s', 5.0, 'At most one warning per period per kind; repeats are '
              'counted.', min_value=0.1, max_value=600.0, read_only=True),
]


def driver_config(values: dict) -> DriverConfig:
    """The core's configuration from declared parameter values (validated there)."""
    fields = set(DriverConfig.__dataclass_fields__)
    kwargs = {k: v for k, v in values.items() if k in fields}
    kwargs['mount_rpy'] = tuple(float(v) for v in values['mount_rpy'])
    return DriverConfig(**kwargs).validate()
