"""BNO055 calibration offsets: file round trip and validation, restored at start, saved once
the device reports full calibration."""

import json

import pytest

from jetson_edge_imu import bno055_registers as reg
from jetson_edge_imu.calibration import (CalibrationOffsets, CalibrationStatus, load_offsets,
                                         save_offsets)
from jetson_edge_imu.config import DriverConfig
from jetson_edge_imu.driver import ImuDriver
from jetson_edge_imu.errors import CalibrationFileError, CalibrationSaveError
from jetson_edge_common.diagnostics import Level

OFFSETS = CalibrationOffsets((12, -7, 20), (-150, 80, 310), (3, -2, 1), 1000, 640)


def test_register_block_round_trip():
    block = OFFSETS.to_bytes()
    assert len(block) == 22 and block[0:2] == (12).to_bytes(2, 'little', signed=True)
    assert CalibrationOffsets.from_bytes(block) == OFFSETS


def test_status_byte_fields():
    s = CalibrationStatus.from_byte(0b11_10_01_00)
    assert (s.system, s.gyro, s.accel, s.mag) == (3, 2, 1, 0)
    assert not s.fully_calibrated(need_mag=False)


def test_file_round_trip_and_missing_file(tmp_path):
    path = tmp_path / 'sub' / 'bno055.json'
    assert load_offsets(path) is None
    save_offsets(path, OFFSETS, device_id='/dev/ttyTHS1')
    assert load_offsets(path) == OFFSETS
    assert list(path.parent.iterdir()) == [path]  # no temp file left behind


@pytest.mark.parametrize('content', ['{not json', json.dumps({'format': 'other'}),
                                     json.dumps({'format': 'jetson_edge_imu/bno055_calibration/1',
                                                 'offsets': {'accel': [1, 2, 99999]}})])
def test_bad_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / 'c.json'
    path.write_text(content)
    with pytest.raises(CalibrationFileError, match='delete it to recalibrate'):
        load_offsets(path)


def _driver(rig, path, **kwargs):
    config = DriverConfig(port=rig.link.path, baud=2_000_000, bno055_mode='ndof',
                          filter='device', rate_hz=100, calibration_file=str(path),
                          status_period_s=0.05)
    return ImuDriver(config, sleep=lambda s: None, **kwargs)


def test_offsets_restored_at_start(bno_rig, tmp_path):
    path = tmp_path / 'cal.json'
    save_offsets(path, OFFSETS)
    rig = bno_rig()
    driver = _driver(rig, path)
    driver.step(0)
    assert driver.connected
    r = rig.registers.regs
    assert bytes(r[reg.ACC_OFFSET_X_LSB:reg.ACC_OFFSET_X_LSB + 22]) == OFFSETS.to_bytes()
    assert r[reg.UNIT_SEL] == reg.SI_UNITS and rig.registers.mode == reg.OperatingMode.NDOF
    driver.step(10_000_000)
    assert driver.device.calibration.gyro == 3  # restored offsets: calibrated from the start


def test_offsets_saved_once_fully_calibrated(bno_rig, tmp_path, monkeypatch):
    path = tmp_path / 'cal.json'
    clock = [0.0]
    rig = bno_rig(clock=lambda: clock[0])
    rig.registers.complete_calibration()  # what the fusion library learned, in the registers
    driver = _driver(rig, path)
    k = 0
    while not path.exists() and k < 200:
        clock[0] = k * 0.05
        driver.step(k * 50_000_000)
        k += 1
    assert path.exists(), driver.status()
    assert load_offsets(path).to_bytes() == rig.registers.learned_offsets()
    assert rig.registers.mode == reg.OperatingMode.NDOF  # back in fusion after reading


def test_bno055_over_i2c_restores_offsets_and_reads_fusion(tmp_path):
    """The same device class over the I2C seam (SMBus-like emulator; reads longer than 32
    bytes are split into SMBus blocks)."""
    from jetson_edge_sim.imu.bno055_emulator import Bno055I2CEmulator, Bno055Registers
    from jetson_edge_imu.motion import TorsoMotion
    from jetson_edge_imu.sensor_specs import BNO055_NOISE
    from jetson_edge_sim.imu.sim_sensor import SimulatedSensor
    from jetson_edge_imu.transport import I2CRegisterIO

    path = tmp_path / 'cal.json'
    save_offsets(path, OFFSETS)
    sensor = SimulatedSensor(TorsoMotion(), BNO055_NOISE, accel_bandwidth_hz=62.5,
                             gyro_bandwidth_hz=32.0)
    registers = Bno055Registers(sensor, lockstep=True)
    bus = Bno055I2CEmulator(registers)
    config = DriverConfig(interface='i2c', i2c_address=0x28, bno055_mode='ndof',
                          filter='device', calibration_file=str(path))
    driver = ImuDriver(config, open_io=lambda c: I2CRegisterIO(bus.open_bus(), 0x28),
                       sleep=lambda s: None)
    readings = [r for k in range(50) for r in driver.step(k * 10_000_000)]
    assert driver.connected and len(readings) == 49
    assert bytes(registers.regs[0x55:0x55 + 22]) == OFFSETS.to_bytes()
    assert all(abs(sum(v * v for v in r.orientation) - 1) < 1e-3 for r in readings)
    assert abs(readings[-1].accel[2] - 9.80665) < 0.1


def test_save_to_an_unwritable_place_names_the_path_and_the_os_error(tmp_path):
    blocker = tmp_path / 'not_a_directory'
    blocker.write_text('a file where the calibration directory should be')
    path = blocker / 'bno055.json'
    with pytest.raises(CalibrationSaveError, match=f'^cannot save calibration to {path}: '
                       rf'\[Errno 17\] File exists \({blocker}\)$'):
        save_offsets(path, OFFSETS)
    taken = tmp_path / 'cal.json'
    taken.mkdir()  # a directory where the file should be
    with pytest.raises(CalibrationSaveError, match=f'^cannot save calibration to {taken}: '
                       r'\[Errno 21\] Is a directory'):
        save_offsets(taken, OFFSETS)
    assert not list(taken.iterdir())  # no temp file left behind


def test_failed_save_is_a_warning_retried_with_backoff_and_readings_go_on(bno_rig, tmp_path):
    """The robot's calibration directory is not writable (read-only container, full disk): the
    driver keeps publishing, says WARN with the path and the OS error, and tries again later
    with back-off until the environment is repaired."""
    blocker = tmp_path / 'var_lib_jetson_edge'
    blocker.write_text('')
    path = blocker / 'bno055.json'
    clock = [0.0]
    rig = bno_rig(clock=lambda: clock[0])
    rig.registers.complete_calibration()
    warnings = []
    driver = _driver(rig, path, clock_ns=lambda: int(clock[0] * 1e9), on_warning=warnings.append)

    def run(seconds):
        readings = []
        end = clock[0] + seconds
        while clock[0] < end:
            readings += driver.step(int(clock[0] * 1e9))
            clock[0] += 0.05
        return readings

    assert run(1.0)
    assert driver.status()[0] == Level.WARN  # the file cannot be read either: uncalibrated
    while driver.device.calibration_save_failures == 0 and clock[0] < 10:  # until fully calibrated
        run(0.05)
    assert driver.device.calibration_save_failures == 1
    level, message, values = driver.status()
    assert level == Level.WARN
    assert message.startswith(f'cannot save calibration to {path}: [Errno 17] File exists')
    assert message.endswith('retrying in 10 s') and values['calibration_file'] == message
    assert any(str(path) in w for w in warnings)
    assert len(run(9.5)) > 150  # readings never stop for it
    assert driver.device.calibration_save_failures == 1  # no retry before the back-off
    run(0.7)
    assert driver.device.calibration_save_failures == 2 and 'retrying in 20 s' in driver.status()[1]

    blocker.unlink()  # repaired: the directory can be created now
    run(20.5)
    assert load_offsets(path).to_bytes() == rig.registers.learned_offsets()
    assert driver.device.calibration_save_failures == 2 and driver.device.calibration_problem == ''
    assert driver.status()[0] == Level.OK and driver.status()[2]['calibration_file'] == 'saved'


def test_an_unreadable_calibration_file_starts_uncalibrated_with_a_warning(bno_rig, tmp_path):
    path = tmp_path / 'cal.json'
    path.write_text('{torn')
    rig = bno_rig()
    driver = _driver(rig, path)
    readings = [r for k in range(20) for r in driver.step(k * 10_000_000)]
    assert driver.connected and readings
    level, message, _ = driver.status()
    assert level == Level.WARN and str(path) in message and 'uncalibrated' in message
