"""BNO055 calibration offsets: file round trip and validation, restored at start, saved once
the device reports full calibration."""

import json

import pytest

from jetson_edge_imu import bno055_registers as reg
from jetson_edge_imu.calibration import (CalibrationOffsets, CalibrationStatus, load_offsets,
                                         save_offsets)
from jetson_edge_imu.config import DriverConfig
from jetson_edge_imu.driver import ImuDriver
from jetson_edge_imu.errors import CalibrationFileError

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


def _driver(rig, path):
    config = DriverConfig(port=rig.link.path, baud=2_000_000, bno055_mode='ndof',
                          filter='device', rate_hz=100, calibration_file=str(path),
                          status_period_s=0.05)
    return ImuDriver(config, sleep=lambda s: None)


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
    assert driver.calibration.gyro == 3  # restored offsets: calibrated from the start


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
    from jetson_edge_imu.bno055_emulator import Bno055I2CEmulator, Bno055Registers
    from jetson_edge_imu.motion import TorsoMotion
    from jetson_edge_imu.sensor_specs import BNO055_NOISE
    from jetson_edge_imu.sim_sensor import SimulatedSensor
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
