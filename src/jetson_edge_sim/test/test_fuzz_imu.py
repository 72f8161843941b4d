"""Fuzzing what the IMU devices send: BNO055 UART response frames, MPU register/FIFO bytes and
the AK8963 magnetometer's registers.

The contract: a device read returns a sample with finite values or raises an ``ImuError``
(the driver loop handles only those); garbage never escapes as IndexError or struct.error.
"""

from __future__ import annotations

import math
import socket
import threading
from collections import deque
from types import SimpleNamespace

from jetson_edge_common.fuzzing import assert_no_crash, replay
from jetson_edge_imu import ak8963_registers as ak_reg
from jetson_edge_imu import bno055_registers as bno_reg
from jetson_edge_imu import mpu_registers as mpu_reg
from jetson_edge_imu.ak8963 import Ak8963, BypassAuxBus
from jetson_edge_imu.bno055 import Bno055
from jetson_edge_sim.imu.bno055_emulator import Bno055Registers
from jetson_edge_imu.bno055_uart import Bno055UartIO
from jetson_edge_imu.errors import ImuError
from jetson_edge_imu.motion import TorsoMotion
from jetson_edge_imu.mpu import Mpu
from jetson_edge_sim.imu.mpu_emulator import MpuEmulator
from jetson_edge_imu.samples import DeviceSample
from jetson_edge_imu.sensor_specs import BNO055_NOISE, MPU6050_NOISE, MPU9250_NOISE
from jetson_edge_sim.imu.sim_sensor import SimulatedSensor
from jetson_edge_imu.transport import I2CRegisterIO

INSTRUMENT = ['jetson_edge_imu']
BNO_MODES = ('ndof', 'imu', 'amg')


def _check(sample: DeviceSample) -> None:
    values = [*sample.accel, *sample.gyro, *(sample.orientation or ())]
    if sample.temperature is not None:
        values.append(sample.temperature)
    assert all(math.isfinite(v) for v in values), sample


# --- BNO055 over a UART ------------------------------------------------------------------------

class _UartDevice:
    """The far end of a serial line (a socket pair: real fds, select and FIONREAD work as on a
    tty): answers each request the driver writes with the next canned response, or not at all
    once they run out."""

    def __init__(self) -> None:
        self.near, self._far = socket.socketpair()
        self.near.setblocking(False)
        self.responses: deque[bytes] = deque()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while self._far.recv(4096):
            if self.responses:
                self._far.sendall(self.responses.popleft())


_DEVICE: _UartDevice | None = None


def _split_responses(data: bytes) -> list[bytes]:
    """``data`` is (length byte, that many bytes) repeated."""
    out, at = [], 0
    while at < len(data):
        n = data[at]
        out.append(data[at + 1:at + 1 + n])
        at += 1 + n
    return out


def bno055_uart(data: bytes) -> None:
    """Byte 0 picks the operation and mode, the rest are the device's responses."""
    global _DEVICE
    if _DEVICE is None:
        _DEVICE = _UartDevice()
    if not data:
        return
    device = _DEVICE
    # Drop what a previous input left on the line, then queue this input's responses.
    device.responses.clear()
    try:
        while device.near.recv(4096):
            pass
    except BlockingIOError:
        pass
    device.responses.extend(_split_responses(data[1:]))
    port = SimpleNamespace(fileno=device.near.fileno, timeout=0.002, close=lambda: None)
    io = Bno055UartIO(port, baud=2_000_000, retries=2)
    bno = Bno055(io, mode=BNO_MODES[data[0] % 3], sleep=lambda s: None)
    operation = (data[0] >> 2) % 3
    try:
        if operation == 0:
            _check(bno.read_sample())
        elif operation == 1:
            temperature, status = bno.read_status()
            assert math.isfinite(temperature) and status is not None
        else:
            bno.probe(attempts=1)
    except ImuError:
        pass


def _frame(payload: bytes) -> bytes:
    return bytes((bno_reg.UART_READ_OK, len(payload))) + payload


def _with_lengths(*responses: bytes) -> bytes:
    return b''.join(bytes((len(r),)) + r for r in responses)


def bno055_seeds() -> list[bytes]:
    sensor = SimulatedSensor(TorsoMotion(), BNO055_NOISE, accel_bandwidth_hz=62.5,
                             gyro_bandwidth_hz=32.0)
    registers = Bno055Registers(sensor, lockstep=True)
    registers.write(bno_reg.OPR_MODE, bytes((bno_reg.OperatingMode.NDOF,)))
    fusion = _frame(registers.read(*bno_reg.FUSION_BLOCK))
    raw = _frame(registers.read(*bno_reg.RAW_BLOCK))
    slow = _frame(registers.read(*bno_reg.SLOW_BLOCK))
    ident = _frame(registers.read(bno_reg.CHIP_ID, 7))
    ack = bytes((bno_reg.UART_STATUS, bno_reg.UartStatus.WRITE_SUCCESS))
    busy = bytes((bno_reg.UART_STATUS, bno_reg.UartStatus.BUS_OVER_RUN_ERROR))
    return [
        bytes((0,)) + _with_lengths(fusion),  # ndof sample
        bytes((2,)) + _with_lengths(raw),  # amg sample
        bytes((0,)) + _with_lengths(busy, fusion[:10], fusion),  # retried twice
        bytes((4,)) + _with_lengths(slow),  # status
        bytes((8,)) + _with_lengths(ack, ident),  # probe
    ]


# --- MPU over I2C ------------------------------------------------------------------------------

class _ScriptedBus:
    """An SMBus whose reads return the next bytes of a script (a real adapter always returns
    the length asked for) and that NACKs once the script runs out."""

    def __init__(self, script: bytes) -> None:
        self._script = script
        self._at = 0

    def read_byte_data(self, i2c_addr: int, register: int) -> int:
        return self.read_i2c_block_data(i2c_addr, register, 1)[0]

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        chunk = self._script[self._at:self._at + length]
        if len(chunk) < length:
            raise OSError(121, 'Remote I/O error')
        self._at += length
        return list(chunk)

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None:
        pass

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: list[int]) -> None:
        pass

    def close(self) -> None:
        pass


class _RecordingBus(_ScriptedBus):
    """The emulator's answers, recorded as a script for :class:`_ScriptedBus`."""

    def __init__(self, device: MpuEmulator) -> None:
        super().__init__(b'')
        self._device = device
        self.recorded = bytearray()

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        out = self._device.read_i2c_block_data(i2c_addr, register, length)
        self.recorded += bytes(out)
        return out

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None:
        self._device.write_byte_data(i2c_addr, register, value)

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: list[int]) -> None:
        self._device.write_i2c_block_data(i2c_addr, register, data)


def _mpu(bus, flags: int) -> Mpu:
    io = I2CRegisterIO(bus, 0x68, fifo_register=mpu_reg.FIFO_R_W)
    return Mpu(io, use_fifo=not flags & 1, sleep=lambda s: None)


def mpu_registers(data: bytes) -> None:
    """Byte 0: bit 0 data-ready reads instead of the FIFO, bit 1 probe and configure first;
    the rest is what the registers read back."""
    if not data:
        return
    mpu = _mpu(_ScriptedBus(data[1:]), data[0])
    try:
        if data[0] & 2:
            mpu.probe()
            mpu.configure()
        for _ in range(3):
            for sample in mpu.read_samples():
                _check(sample)
    except ImuError:
        pass


def mpu_seeds() -> list[bytes]:
    seeds = []
    for flags in (0, 1, 2, 3):
        clock = [0.0]
        sensor = SimulatedSensor(TorsoMotion(), MPU6050_NOISE, accel_bandwidth_hz=44.0,
                                 gyro_bandwidth_hz=42.0)
        bus = _RecordingBus(MpuEmulator(sensor, lambda: clock[0]))
        mpu = _mpu(bus, flags)
        mpu.probe()
        mpu.configure()
        if not flags & 2:
            bus.recorded.clear()
        for _ in range(3):
            clock[0] += 0.02
            mpu.read_samples()
        seeds.append(bytes((flags,)) + bytes(bus.recorded))
    return seeds


# --- the AK8963 (bypass: its registers straight from the bus) ---------------------------------

def _ak8963(bus) -> Ak8963:
    return Ak8963(BypassAuxBus(I2CRegisterIO(bus, ak_reg.I2C_ADDRESS)), sleep=lambda s: None)


def ak8963_registers(data: bytes) -> None:
    """Byte 0 bit 0: start (identity, fuse ROM) first; the rest is what the registers read."""
    if not data:
        return
    magnetometer = _ak8963(_ScriptedBus(data[1:]))
    try:
        if data[0] & 1:
            magnetometer.start()
        for _ in range(3):
            field = magnetometer.read()
            assert field is None or all(math.isfinite(v) for v in field), field
    except ImuError:
        pass


def ak8963_seeds() -> list[bytes]:
    seeds = []
    for flags in (0, 1):
        clock = [0.0]
        sensor = SimulatedSensor(TorsoMotion(), MPU9250_NOISE, accel_bandwidth_hz=44.8,
                                 gyro_bandwidth_hz=41.0)
        device = MpuEmulator(sensor, lambda: clock[0], chip='mpu9250')
        device.write_byte_data(0x68, mpu_reg.PWR_MGMT_1, mpu_reg.PWR1_CLKSEL_PLL_XGYRO)
        device.write_byte_data(0x68, mpu_reg.INT_PIN_CFG, mpu_reg.INT_PIN_CFG_BYPASS_EN)
        bus = _RecordingBus(device)
        magnetometer = _ak8963(bus)
        magnetometer.start()
        if not flags & 1:
            bus.recorded.clear()
        for _ in range(3):
            clock[0] += 0.011
            magnetometer.read()
        seeds.append(bytes((flags,)) + bytes(bus.recorded))
    return seeds


def test_seeds_and_regression_inputs_are_handled():
    replay(bno055_uart, bno055_seeds())
    replay(mpu_registers, mpu_seeds())
    replay(ak8963_registers, ak8963_seeds())


def test_the_seeds_reach_valid_samples():
    """Seeds that decode are what lets the fuzzer mutate its way into the sample paths."""
    samples = []
    for seed in mpu_seeds():
        mpu = _mpu(_ScriptedBus(seed[1:]), seed[0])
        if seed[0] & 2:
            mpu.probe()
            mpu.configure()
        for _ in range(3):
            samples += mpu.read_samples()
    assert samples
    fields = []
    for seed in ak8963_seeds():
        magnetometer = _ak8963(_ScriptedBus(seed[1:]))
        if seed[0] & 1:
            magnetometer.start()
        fields += [magnetometer.read() for _ in range(3)]
    assert any(f is not None for f in fields)


def test_fuzz_bno055_uart(tmp_path):
    assert_no_crash(bno055_uart, seeds=bno055_seeds(), work_dir=tmp_path,
                    instrument=INSTRUMENT, max_len=512)


def test_fuzz_mpu_registers(tmp_path):
    assert_no_crash(mpu_registers, seeds=mpu_seeds(), work_dir=tmp_path,
                    instrument=INSTRUMENT, max_len=1024)


def test_fuzz_ak8963_registers(tmp_path):
    assert_no_crash(ak8963_registers, seeds=ak8963_seeds(), work_dir=tmp_path,
                    instrument=INSTRUMENT, max_len=256)
