"""Register-level tests of the MPU emulator and of the MPU driver class against it: the
emulator must behave like the register map says, or driver tests against it prove nothing."""

import errno
import math
import struct

import pytest

from jetson_edge_imu import mpu_registers as reg
from jetson_edge_imu.errors import ConfigError, DeviceIdentityError, TransportError
from jetson_edge_imu.motion import STANDARD_GRAVITY
from jetson_edge_imu.mpu import Mpu
from jetson_edge_imu.transport import I2CRegisterIO

ADDR = 0x68


def _wake(emu, *, div=4, dlpf=3, fifo=False):
    emu.write_byte_data(ADDR, reg.PWR_MGMT_1, reg.PWR1_CLKSEL_PLL_XGYRO)
    emu.write_byte_data(ADDR, reg.CONFIG, dlpf)
    emu.write_byte_data(ADDR, reg.SMPLRT_DIV, div)
    if fifo:
        emu.write_byte_data(ADDR, reg.USER_CTRL, reg.USER_CTRL_FIFO_EN)
        emu.write_byte_data(ADDR, reg.FIFO_EN, reg.FIFO_EN_SENSORS)


def test_power_on_state_is_asleep_with_identity(mpu_emulator, sim_clock):
    emu = mpu_emulator()
    assert emu.read_byte_data(ADDR, reg.WHO_AM_I) == 0x68
    assert emu.read_byte_data(ADDR, reg.PWR_MGMT_1) == reg.PWR1_SLEEP
    sim_clock.t = 1.0
    assert emu.read_i2c_block_data(ADDR, reg.ACCEL_XOUT_H, 14) == [0] * 14  # asleep: no data
    assert mpu_emulator(chip='mpu9250').read_byte_data(ADDR, reg.WHO_AM_I) == 0x71


def test_wrong_address_and_injected_faults_nack_like_smbus2(mpu_emulator):
    emu = mpu_emulator()
    with pytest.raises(OSError) as info:
        emu.read_byte_data(0x69, reg.WHO_AM_I)
    assert info.value.errno == errno.EREMOTEIO
    emu.fail_next = 1
    with pytest.raises(OSError):
        emu.read_byte_data(ADDR, reg.WHO_AM_I)
    assert emu.read_byte_data(ADDR, reg.WHO_AM_I) == 0x68


def test_sample_rate_follows_divider_and_dlpf(mpu_emulator, sim_clock):
    emu = mpu_emulator()
    _wake(emu, div=4, dlpf=3)  # 1 kHz / 5 = 200 Hz
    assert emu.sample_rate_hz == 200
    sim_clock.t = 1.0
    emu.read_byte_data(ADDR, reg.INT_STATUS)
    assert emu.samples_generated in (199, 200)
    emu.write_byte_data(ADDR, reg.CONFIG, 0)  # DLPF off: 8 kHz internal
    assert emu.sample_rate_hz == 1600


def test_data_registers_hold_scaled_big_endian_measurements(mpu_emulator, sim_clock):
    emu = mpu_emulator()
    _wake(emu)
    emu.write_byte_data(ADDR, reg.ACCEL_CONFIG, 1 << 3)  # +-4 g: 8192 LSB/g
    sim_clock.t = 0.5  # still phase: +1 g on z
    emu.read_byte_data(ADDR, reg.INT_STATUS)
    sim_clock.t = 0.52
    status = emu.read_byte_data(ADDR, reg.INT_STATUS)
    assert status & reg.INT_DATA_RDY
    assert emu.read_byte_data(ADDR, reg.INT_STATUS) == 0  # cleared on read
    ax, ay, az, _, gx, gy, gz = struct.unpack('>7h', bytes(
        emu.read_i2c_block_data(ADDR, reg.ACCEL_XOUT_H, 14)))
    assert abs(az - 8192) < 60 and abs(ax) < 60 and abs(ay) < 60
    assert max(abs(gx), abs(gy), abs(gz)) < 10


def test_saturation_clips_at_int16(mpu_emulator, sim_clock):
    emu = mpu_emulator()
    _wake(emu)  # +-2 g after reset; 1 g on z is within range, so force a violent motion
    emu.sensor.gyro_bias = (0.0, 0.0, 100.0)  # rad/s, beyond 250 dps full scale
    sim_clock.t = 0.5
    emu.read_byte_data(ADDR, reg.INT_STATUS)
    sim_clock.t = 0.52
    gz = struct.unpack('>h', bytes(emu.read_i2c_block_data(ADDR, reg.GYRO_XOUT_H + 4, 2)))[0]
    assert gz == 32767


def test_fifo_collects_whole_samples_in_register_order_and_pops(mpu_emulator, sim_clock):
    emu = mpu_emulator()
    _wake(emu, fifo=True)
    sim_clock.t = 0.1
    emu.read_byte_data(ADDR, reg.INT_STATUS)
    sim_clock.t = 0.2
    hi, lo = emu.read_i2c_block_data(ADDR, reg.FIFO_COUNTH, 2)
    count = hi << 8 | lo
    assert count == 40 * 14  # 200 Hz since wake-up at t=0
    first = bytes(emu.read_i2c_block_data(ADDR, reg.FIFO_R_W, 28))  # pops, no auto-increment
    assert struct.unpack('>7h', first[:14])[2] > 10000  # az of sample 1 (2 g range: 16384/g)
    hi, lo = emu.read_i2c_block_data(ADDR, reg.FIFO_COUNTH, 2)
    assert (hi << 8 | lo) == count - 28


def test_fifo_overflow_flags_and_misaligns(mpu_emulator, sim_clock):
    emu = mpu_emulator()
    _wake(emu, fifo=True)
    sim_clock.t = 0.01
    emu.read_byte_data(ADDR, reg.INT_STATUS)
    sim_clock.t = 2.0  # 400 samples * 14 B >> 1024 B
    status = emu.read_byte_data(ADDR, reg.INT_STATUS)
    assert status & reg.INT_FIFO_OFLOW
    hi, lo = emu.read_i2c_block_data(ADDR, reg.FIFO_COUNTH, 2)
    assert (hi << 8 | lo) == 1024 and 1024 % 14  # the byte stream no longer starts a sample


def test_device_reset_restores_power_on_values(mpu_emulator):
    emu = mpu_emulator()
    _wake(emu)
    emu.write_byte_data(ADDR, reg.PWR_MGMT_1, reg.PWR1_DEVICE_RESET)
    assert emu.read_byte_data(ADDR, reg.PWR_MGMT_1) == reg.PWR1_SLEEP
    assert emu.read_byte_data(ADDR, reg.SMPLRT_DIV) == 0


# -- the Mpu driver class against the emulator ----------------------------------------------

def _mpu(emu, **kwargs):
    return Mpu(I2CRegisterIO(emu, ADDR, fifo_register=reg.FIFO_R_W), sleep=lambda s: None,
               **kwargs)


def test_driver_configures_registers_per_datasheet(mpu_emulator):
    emu = mpu_emulator(chip='mpu9250')
    mpu = _mpu(emu, rate_hz=500, dlpf=2, gyro_range_dps=1000, accel_range_g=16)
    mpu.probe()
    mpu.configure()
    assert mpu.chip == 'mpu9250'
    assert emu.regs[reg.PWR_MGMT_1] == reg.PWR1_CLKSEL_PLL_XGYRO  # awake, PLL
    assert emu.regs[reg.SMPLRT_DIV] == 1 and emu.regs[reg.CONFIG] == 2
    assert emu.regs[reg.GYRO_CONFIG] == 2 << 3 and emu.regs[reg.ACCEL_CONFIG] == 3 << 3
    assert emu.regs[reg.ACCEL_CONFIG2] == 2
    assert emu.regs[reg.FIFO_EN] == reg.FIFO_EN_SENSORS
    assert emu.regs[reg.USER_CTRL] & reg.USER_CTRL_FIFO_EN
    assert mpu.bandwidths_hz == (99, 92)


def test_driver_reads_fifo_batches_in_si_units(mpu_emulator, sim_clock):
    emu = mpu_emulator()
    mpu = _mpu(emu, rate_hz=200, dlpf=3, accel_range_g=8)
    mpu.probe()
    mpu.configure()
    sim_clock.t = 0.3
    mpu.read_samples()
    sim_clock.t = 0.4
    samples = mpu.read_samples()
    assert len(samples) == 20
    assert [s.samples_before for s in samples] == list(range(19, -1, -1))
    for s in samples:
        assert abs(s.accel[2] - STANDARD_GRAVITY) < 0.1 and abs(s.accel[0]) < 0.1
        assert math.isclose(s.temperature, 31.0, abs_tol=0.01)


def test_driver_recovers_from_fifo_overflow(mpu_emulator, sim_clock):
    emu = mpu_emulator()
    mpu = _mpu(emu, rate_hz=1000, dlpf=1)
    mpu.probe()
    mpu.configure()
    sim_clock.t = 1.0
    assert mpu.read_samples() == [] and mpu.fifo_overflows == 1
    sim_clock.t = 1.01
    assert len(mpu.read_samples()) == 10  # aligned again after the reset


def test_data_ready_mode_reads_one_sample(mpu_emulator, sim_clock):
    emu = mpu_emulator()
    mpu = _mpu(emu, rate_hz=100, dlpf=3, use_fifo=False)
    mpu.probe()
    mpu.configure()
    sim_clock.t = 0.5
    assert len(mpu.read_samples()) == 1
    assert mpu.read_samples() == []  # no new sample at the same instant


def test_identity_and_rate_errors_say_what_to_fix(mpu_emulator):
    emu = mpu_emulator(chip='mpu6500')
    with pytest.raises(DeviceIdentityError, match='fix the device_type'):
        _mpu(emu, chip='mpu6050').probe()
    with pytest.raises(ConfigError, match='nearest exact rate is 250 Hz'):
        _mpu(emu, rate_hz=300).divider()
    emu.close()
    with pytest.raises(TransportError, match='check wiring'):
        _mpu(emu).probe()
