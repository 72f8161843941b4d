"""The MPU-9250 over SPI and its AK8963, the driver's code against the emulator: the SPI face
behaves like the part (mode 3 only, clock limits, the read bit, bursts), the driver sets it up
within those limits, reads the magnetometer through the auxiliary I2C master (SPI) or bypass
(I2C) with the factory adjustment applied, drops overflows counted, and its filter finds the
emulated heading. The last test goes through the production opener and the ``sim`` backend."""

import math
import time

import pytest

from jetson_edge_imu import ak8963_registers as ak
from jetson_edge_imu import mpu_registers as reg
from jetson_edge_imu import quaternion as quat
from jetson_edge_imu.config import DriverConfig
from jetson_edge_imu.driver import ImuDriver, open_register_io
from jetson_edge_imu.errors import ConfigError
from jetson_edge_imu.motion import TorsoMotion
from jetson_edge_imu.mpu_registers import FIFO_R_W
from jetson_edge_imu.transport import I2CRegisterIO, SpiRegisterIO
from jetson_edge_sim.imu.ak8963_emulator import DEFAULT_ASA
from jetson_edge_sim.imu.spi_emulator import EmulatedSpiDev


def _spi_driver(emu, **overrides):
    spi = EmulatedSpiDev(emu)
    spi.open(0, 0)
    settings = dict(device_type='mpu9250', interface='spi', rate_hz=200, filter='madgwick',
                    filter_gain=0.1, estimate_bias=False)
    settings.update(overrides)
    config = DriverConfig(**settings)
    driver = ImuDriver(config, open_io=lambda c: SpiRegisterIO(
        spi, config_hz=c.spi_config_hz, read_hz=c.spi_read_hz), sleep=lambda s: None)
    return driver, spi


def _true_field(emu, t):
    """The emulated field in the sensor frame without its noise."""
    world_from_sensor = quat.multiply(emu.sensor.motion.state(t).orientation, emu.sensor.mount)
    return quat.rotate(quat.conjugate(world_from_sensor), emu.sensor.earth_field)


def _run(driver, clock, seconds, dt=0.01):
    out = []
    end = clock.t + seconds
    while clock.t < end - 1e-9:
        out += driver.step(clock.ns)
        clock.t += dt
    return out


def test_the_spi_face_answers_only_mode_3_within_the_clock_limits(mpu_emulator):
    spi = EmulatedSpiDev(mpu_emulator(chip='mpu9250'))
    spi.open(0, 0)
    spi.max_speed_hz = 1_000_000
    assert spi.xfer2([0x80 | reg.WHO_AM_I, 0]) == [0xFF, 0xFF]  # mode 0 after open
    assert spi.mode_errors == 1
    spi.mode = 3
    assert spi.xfer2([0x80 | reg.WHO_AM_I, 0])[1] == 0x71
    assert spi.xfer2([0x80 | reg.WHO_AM_I, 0], 20_000_000)[1] == 0xFF  # config register
    assert spi.xfer2([0x80 | reg.ACCEL_XOUT_H] + [0] * 14, 20_000_000)[1:] == [0] * 14
    spi.xfer2([reg.SMPLRT_DIV, 7], 2_000_000)  # a write above 1 MHz is lost
    assert spi.xfer2([0x80 | reg.SMPLRT_DIV, 0])[1] == 0
    assert spi.speed_violations == 2
    spi.xfer2([reg.SMPLRT_DIV, 7, 3])  # a burst write increments the address
    assert spi.xfer2([0x80 | reg.SMPLRT_DIV, 0, 0])[1:] == [7, 3]
    with pytest.raises(ValueError, match='no SPI'):
        EmulatedSpiDev(mpu_emulator(chip='mpu6050'))


def test_the_driver_sets_up_within_the_limits_and_reads_the_sensor_block_fast(mpu_emulator,
                                                                             sim_clock):
    emu = mpu_emulator(chip='mpu9250')
    driver, spi = _spi_driver(emu, use_fifo=False)
    readings = _run(driver, sim_clock, 1.0, dt=0.005)
    assert driver.connected, driver.connect_message
    assert len(readings) > 150
    assert spi.mode == 3 and spi.mode_errors == 0 and spi.speed_violations == 0
    assert emu.regs[reg.USER_CTRL] & reg.USER_CTRL_I2C_IF_DIS  # I2C off on an SPI part
    writes = {hz for (kind, hz) in spi.speeds if kind == 'write'}
    reads = {hz for (kind, hz) in spi.speeds if kind == 'read'}
    assert writes == {1_000_000} and reads == {1_000_000, 20_000_000}
    assert spi.speeds['read', 20_000_000] > spi.speeds['read', 1_000_000]


def test_the_magnetometer_over_the_aux_master_is_adjusted_and_published(mpu_emulator,
                                                                        sim_clock):
    emu = mpu_emulator(chip='mpu9250', motion=TorsoMotion(still_s=100.0))
    driver, _ = _spi_driver(emu)
    readings = _run(driver, sim_clock, 2.0)
    assert emu.magnetometer.mode_violations == 0
    assert emu.magnetometer.regs[ak.CNTL1] == ak.CNTL1_BIT_16 | ak.CNTL1_CONTINUOUS_100HZ
    assert driver.device.sensor.magnetometer.asa == DEFAULT_ASA
    fields = [r.mag for r in readings if r.mag is not None]
    assert len(fields) > 150  # 100 Hz for 2 s, read on the host's schedule
    truth = _true_field(emu, sim_clock.t)  # standing still: the field does not move
    mean = [sum(f[i] for f in fields) / len(fields) for i in range(3)]
    for got, want in zip(mean, truth):
        assert got == pytest.approx(want, abs=0.15e-6)  # within 1 LSB: ASA applied, axes right
    values = driver.status()[2]
    assert values['magnetometer'].startswith('AK8963 via master')
    assert driver.orientation_covariance[8] < 0.01  # yaw is referenced now


def test_an_overflow_drops_the_field_reading_counted_and_keeps_the_motion(mpu_emulator,
                                                                         sim_clock):
    emu = mpu_emulator(chip='mpu9250')
    warnings = []
    driver, _ = _spi_driver(emu)
    driver.device._warn = warnings.append
    _run(driver, sim_clock, 0.5)
    emu.magnetometer.overflow_next = 3
    readings = _run(driver, sim_clock, 0.5)
    assert driver.device.sensor.magnetometer.overflows >= 1
    assert driver.status()[2]['magnetometer_overflows'] == str(
        driver.device.sensor.magnetometer.overflows)
    assert any('overflow' in w for w in warnings)
    assert len(readings) > 90  # accelerometer and gyro go on
    assert sum(r.mag is not None for r in readings) >= 40


def test_bypass_over_i2c_reads_the_same_field(mpu_emulator, sim_clock):
    emu = mpu_emulator(chip='mpu9250', motion=TorsoMotion(still_s=100.0))
    config = DriverConfig(device_type='mpu9250', interface='i2c', i2c_address=0x68,
                          rate_hz=200, filter='madgwick', estimate_bias=False,
                          magnetometer='bypass')
    driver = ImuDriver(config, open_io=lambda c: I2CRegisterIO(emu.open_bus(), 0x68,
                                                               fifo_register=FIFO_R_W),
                       sleep=lambda s: None)
    readings = _run(driver, sim_clock, 1.0)
    assert emu.bypass
    fields = [r.mag for r in readings if r.mag is not None]
    assert len(fields) > 80
    truth = _true_field(emu, sim_clock.t)
    for i in range(3):
        assert sum(f[i] for f in fields) / len(fields) == pytest.approx(truth[i], abs=0.15e-6)


def test_bypass_over_spi_is_refused():
    with pytest.raises(ConfigError, match='bypass'):
        DriverConfig(device_type='mpu9250', interface='spi', filter='madgwick',
                     magnetometer='bypass').validate()
    with pytest.raises(ConfigError, match='no SPI'):
        DriverConfig(device_type='mpu6050', interface='spi', filter='madgwick').validate()


def test_an_mpu6500_has_no_magnetometer_and_says_so(mpu_emulator, sim_clock):
    emu = mpu_emulator(chip='mpu6500')
    driver, _ = _spi_driver(emu, device_type='mpu')
    readings = _run(driver, sim_clock, 0.5)
    assert readings and all(r.mag is None for r in readings)
    assert driver.status()[2]['magnetometer'] == 'none on an mpu6500'


def test_the_marg_filter_follows_the_emulated_heading_while_walking(mpu_emulator, sim_clock):
    emu = mpu_emulator(chip='mpu9250', motion=TorsoMotion(still_s=1.0))
    driver, _ = _spi_driver(emu, filter_gain=0.05)
    readings = _run(driver, sim_clock, 30.0)
    errors = []
    for r in readings[-500:]:
        truth = emu.sensor.motion.state(r.stamp_ns * 1e-9).orientation
        d = quat.to_euler(r.orientation)[2] - quat.to_euler(truth)[2]
        errors.append(abs(math.atan2(math.sin(d), math.cos(d))))
    assert max(errors) < math.radians(3.0)


def test_the_production_opener_reaches_the_sim_backend():
    """open_register_io -> open_spi -> the ``sim`` entry point -> SpiRegisterIO, real clock."""
    config = DriverConfig(device_type='mpu9250', interface='spi', spi_backend='sim',
                          spi_bus=7, spi_chip_select=1, rate_hz=200, filter='madgwick',
                          estimate_bias=False).validate()
    driver = ImuDriver(config)
    readings = []
    deadline = time.monotonic() + 20.0
    while time.monotonic() < deadline and sum(r.mag is not None for r in readings) < 5:
        readings += driver.step(time.monotonic_ns())
        time.sleep(0.005)
    driver.close()
    assert driver.health.disconnects == 0, driver.connect_message
    assert sum(r.mag is not None for r in readings) >= 5
    assert isinstance(open_register_io(config), SpiRegisterIO)
