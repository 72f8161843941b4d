"""A BNO055 emulator: the page-0 register model, and a server speaking the data sheet's UART
protocol on a file descriptor (the master side of a pseudo-terminal, see ``pty_link``).

The register model holds what the driver relies on: identity registers, OPR_MODE with CONFIG
gating (configuration registers accept writes only in CONFIG mode), UNIT_SEL honoured by the
data encoding, the 22 calibration offset registers, CALIB_STAT that climbs while running and
starts at 3 when offsets were restored, temperature, and the data registers (accelerometer,
magnetometer, gyroscope, Euler, quaternion, linear acceleration, gravity) filled from a
``SimulatedSensor``. Raw modes include the injected gyro bias; fusion modes report the
offset-compensated rate and the fused orientation, as the real device does.

Samples advance either with real time at ``rate_hz`` or one per data read (``lockstep``), which
lets tests replay a minute of motion through a real pty in well under a second per minute. In
real time the server latches each new sample into the data registers when it falls due, as the
device updates its output registers at the output data rate, so a read is answered from
registers that are already filled instead of computing the motion model while the host waits.
``SampleReadCounters`` says, from the device's side, which samples a host read once, read
again, or never read: the truth a benchmark compares the driver's output against.
``UartFaults`` corrupts responses on purpose: garbage, wrong headers, cut frames, inserted bytes,
silence, bus-overrun statuses.
"""

from __future__ import annotations

import errno
import math
import os
import random
import select
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from jetson_edge_imu import bno055_registers as reg
from jetson_edge_imu import quaternion as quat
from jetson_edge_imu.motion import STANDARD_GRAVITY
from jetson_edge_sim.imu.sim_sensor import Measurement, SimulatedSensor

_DATA_START = reg.ACC_DATA_X_LSB
_DATA_END = reg.CALIB_STAT + 1
_READ_ONLY = set(range(0x00, 0x07)) | set(range(_DATA_START, reg.SYS_ERR + 1))
_CONFIG_ONLY = {reg.UNIT_SEL, reg.AXIS_MAP_CONFIG, reg.AXIS_MAP_SIGN, reg.PWR_MODE,
                reg.TEMP_SOURCE, *range(reg.ACC_OFFSET_X_LSB, reg.MAG_RADIUS_LSB + 2)}
_S16 = struct.Struct('<h')
# A read that covers any of these registers reads "the sample" (status reads do not).
_SAMPLE_END = reg.QUA_DATA_W_LSB + 8


@dataclass(slots=True)
class SampleReadCounters:
    """Device-side accounting of the samples a host read (real-time mode).

    ``never_read`` is split by the length of the run of consecutive unread samples: a host
    that is late by a fraction of a period loses one sample; a run of many is a stretch of
    time in which the host did not read at all (a stalled process or machine).
    """

    #: upper bounds (inclusive) of the run-length classes; the last class is open-ended
    RUN_CLASSES: ClassVar[tuple[int, ...]] = (1, 2, 9)

    reads: int = 0  # data reads answered
    read_again: int = 0  # reads of a sample already read (the host polled early)
    never_read: int = 0  # samples replaced by the next before any read (the host was late)
    last_read_index: int = -1
    # samples never read, by run length: runs of 1, of 2, of 3-9, of 10 or more
    never_read_by_run: list[int] = field(
        default_factory=lambda: [0] * (len(SampleReadCounters.RUN_CLASSES) + 1))

    def count(self, index: int) -> None:
        self.reads += 1
        if index == self.last_read_index:
            self.read_again += 1
            return
        if self.last_read_index >= 0 and index > self.last_read_index + 1:
            run = index - self.last_read_index - 1
            self.never_read += run
            self.never_read_by_run[_run_class(run, self.RUN_CLASSES)] += run
        self.last_read_index = index


def _run_class(run: int, bounds: tuple[int, ...]) -> int:
    return next((i for i, bound in enumerate(bounds) if run <= bound), len(bounds))


def _i16(v: float) -> int:
    return max(-32768, min(32767, int(round(v))))


class Bno055Registers:
    """The page-0 register model. ``read``/``write`` return the UART status on failure."""

    def __init__(self, sensor: SimulatedSensor, *, rate_hz: float = 100.0,
                 lockstep: bool = False, clock: Callable[[], float] = time.monotonic,
                 calibration_step_s: float = 1.5) -> None:
        self.sensor = sensor
        self.rate_hz = rate_hz
        self.lockstep = lockstep
        self._clock = clock
        self._t0 = clock()
        self.calibration_step_s = calibration_step_s
        self.regs = bytearray(128)
        self.regs[reg.CHIP_ID:reg.PAGE_ID] = bytes((reg.CHIP_ID_VALUE, 0xFB, 0x32, 0x0F,
                                                    0x11, 0x03, 0x15))
        self.regs[reg.UNIT_SEL] = reg.UNIT_ORI_ANDROID
        self.regs[reg.AXIS_MAP_CONFIG] = 0x24
        self.regs[reg.TEMP] = int(sensor.temperature)
        self.sample_index = -1
        self._measurement: Measurement | None = None
        self._run_started: float | None = None
        self._offsets_restored = False
        self.stuck = False
        self.mode_changes = 0
        self.read_counters = SampleReadCounters()

    @property
    def mode(self) -> reg.OperatingMode:
        return reg.OperatingMode(self.regs[reg.OPR_MODE] & 0x0F)

    # -- protocol-facing -------------------------------------------------------------------
    def read(self, register: int, length: int) -> bytes | reg.UartStatus:
        if register + length > 0x80:
            return reg.UartStatus.REGMAP_INVALID_ADDRESS
        if register < _DATA_END and register + length > _DATA_START:
            self._refresh()
            if register < _SAMPLE_END and self._measurement is not None:
                self.read_counters.count(self.sample_index)
        return bytes(self.regs[register:register + length])

    def latch_due_sample(self) -> float | None:
        """Latch the sample that is due now (if not done yet); seconds until the next is due,
        or None when samples do not advance with time (CONFIG mode, lockstep)."""
        if self.lockstep or self.mode == reg.OperatingMode.CONFIG:
            return None
        self._refresh()
        return self._t0 + (self.sample_index + 1) / self.rate_hz - self._clock()

    def write(self, register: int, data: bytes) -> reg.UartStatus:
        if register + len(data) > 0x80:
            return reg.UartStatus.REGMAP_INVALID_ADDRESS
        for i, value in enumerate(data):
            address = register + i
            if address in _READ_ONLY:
                return reg.UartStatus.REGMAP_WRITE_DISABLED
            if address in _CONFIG_ONLY and self.mode != reg.OperatingMode.CONFIG:
                return reg.UartStatus.WRITE_FAIL
        for i, value in enumerate(data):
            self._write_one(register + i, value)
        return reg.UartStatus.WRITE_SUCCESS

    def _write_one(self, address: int, value: int) -> None:
        if address == reg.OPR_MODE:
            try:
                mode = reg.OperatingMode(value & 0x0F)
            except ValueError:
                return
            if mode != self.mode:
                self.mode_changes += 1
            self.regs[address] = int(mode)
            self._run_started = None if mode == reg.OperatingMode.CONFIG else self._clock()
            return
        if address == reg.SYS_TRIGGER and value & reg.SYS_TRIGGER_RST_SYS:
            sensor, rate, lock, clock = self.sensor, self.rate_hz, self.lockstep, self._clock
            self.__init__(sensor, rate_hz=rate, lockstep=lock, clock=clock,
                          calibration_step_s=self.calibration_step_s)
            return
        self.regs[address] = value
        if address == reg.MAG_RADIUS_LSB + 1:  # the last offset byte commits the block
            self._offsets_restored = any(self.regs[reg.ACC_OFFSET_X_LSB:address + 1])

    # -- data ------------------------------------------------------------------------------
    def _refresh(self) -> None:
        mode = self.mode
        if mode == reg.OperatingMode.CONFIG:
            return  # data registers are not updated in CONFIG mode
        if self.lockstep:
            index = self.sample_index + 1
        else:
            index = int((self._clock() - self._t0) * self.rate_hz)
        if index == self.sample_index and self._measurement is not None:
            return
        self.sample_index = index
        if not (self.stuck and self._measurement is not None):
            self._measurement = self.sensor.measure(index / self.rate_hz)
        self._encode(self._measurement, mode)

    def _encode(self, m: Measurement, mode: reg.OperatingMode) -> None:
        units = self.regs[reg.UNIT_SEL]
        a_scale = (1000 / STANDARD_GRAVITY) if units & reg.UNIT_ACC_MG else reg.ACCEL_LSB_PER_MS2
        g_scale = reg.GYRO_LSB_PER_RPS if units & reg.UNIT_GYR_RPS else (
            reg.GYRO_LSB_PER_DPS * 180 / math.pi)
        e_scale = reg.EULER_LSB_PER_RAD if units & reg.UNIT_EUL_RAD else 16 * 180 / math.pi
        fusion = mode.is_fusion
        gyro = m.gyro
        if fusion:  # fusion output is offset compensated
            b = self.sensor.gyro_bias
            gyro = (gyro[0] - b[0], gyro[1] - b[1], gyro[2] - b[2])
        r = self.regs

        def put(address: int, values, scale: float) -> None:
            for i, v in enumerate(values):
                r[address + 2 * i:address + 2 * i + 2] = _S16.pack(_i16(v * scale))

        put(reg.ACC_DATA_X_LSB, m.accel, a_scale)
        put(reg.MAG_DATA_X_LSB, (20.0, 0.0, -40.0), reg.MAG_LSB_PER_UT)
        put(reg.GYR_DATA_X_LSB, gyro, g_scale)
        if fusion:
            q = m.orientation
            roll, pitch, yaw = quat.to_euler(q)
            put(reg.EUL_HEADING_LSB, (yaw % (2 * math.pi), roll, pitch), e_scale)
            put(reg.QUA_DATA_W_LSB, q, reg.QUAT_LSB)
            g_body = quat.rotate(quat.conjugate(q), (0.0, 0.0, STANDARD_GRAVITY))
            put(reg.GRV_DATA_X_LSB, g_body, a_scale)
            put(reg.LIA_DATA_X_LSB, tuple(a - g for a, g in zip(m.accel, g_body)), a_scale)
        else:
            r[reg.EUL_HEADING_LSB:reg.GRV_DATA_X_LSB + 6] = bytes(
                reg.GRV_DATA_X_LSB + 6 - reg.EUL_HEADING_LSB)
        r[reg.TEMP] = _i16(m.temperature) & 0xFF
        r[reg.CALIB_STAT] = self._calibration_byte(fusion)

    def _calibration_byte(self, fusion: bool) -> int:
        if not fusion or self._run_started is None:
            return 0
        level = 3 if self._offsets_restored else min(
            3, int((self._clock() - self._run_started) / self.calibration_step_s))
        return (level << 6) | (level << 4) | (level << 2) | level

    def learned_offsets(self) -> bytes:
        """What the fusion library would have learned: the gyro bias, in offset LSBs."""
        b = self.sensor.gyro_bias
        scale = reg.GYRO_LSB_PER_DPS * 180 / math.pi  # offsets are stored in dps LSBs
        return struct.pack('<11h', 12, -7, 20, -150, 80, 310,
                           *(_i16(v * scale) for v in b), 1000, 640)

    def complete_calibration(self) -> None:
        """Fill the offset registers as the fusion library does once calibrated."""
        self.regs[reg.ACC_OFFSET_X_LSB:reg.MAG_RADIUS_LSB + 2] = self.learned_offsets()


class Bno055I2CEmulator:
    """The same register model behind the smbus2 calls (the BNO055's I2C interface). I2C has
    no status bytes: a write the device refuses is dropped without an error, as on the bus."""

    def __init__(self, registers: Bno055Registers, *, address: int = 0x28) -> None:
        self.registers = registers
        self.address = address
        self.closed = False

    def _check(self, i2c_addr: int) -> None:
        if i2c_addr != self.address or self.closed:
            raise OSError(errno.EREMOTEIO, 'Remote I/O error (no ACK)')

    def read_byte_data(self, i2c_addr: int, register: int) -> int:
        return self.read_i2c_block_data(i2c_addr, register, 1)[0]

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        self._check(i2c_addr)
        result = self.registers.read(register, length)
        if isinstance(result, reg.UartStatus):
            raise OSError(errno.EREMOTEIO, f'Remote I/O error ({result.name})')
        return list(result)

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None:
        self.write_i2c_block_data(i2c_addr, register, [value])

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: list[int]) -> None:
        self._check(i2c_addr)
        self.registers.write(register, bytes(data))

    def close(self) -> None:
        self.closed = True

    def open_bus(self) -> 'Bno055I2CEmulator':
        self.closed = False
        return self


@dataclass
class UartFaults:
    """Per-response probabilities of deliberate corruption (0 = never)."""

    garbage_before: float = 0.0
    bad_header: float = 0.0
    truncate: float = 0.0
    insert_byte: float = 0.0
    silence: float = 0.0
    bus_overrun: float = 0.0
    seed: int = 7


class LinkLost(RuntimeError):
    """The emulator's end of the serial link failed while it was still meant to serve."""


class Bno055UartServer:
    """Serves the BNO055 UART protocol on ``fd`` (a pty master) from a register model."""

    def __init__(self, registers: Bno055Registers, fd: int, *,
                 faults: UartFaults | None = None, char_timeout_s: float = 0.1) -> None:
        self.registers = registers
        self.fd = fd
        self.faults = faults or UartFaults()
        self._rng = random.Random(self.faults.seed)
        self._buffer = bytearray()
        self._partial_since: float | None = None
        self.char_timeout_s = char_timeout_s
        self.clean_data_payloads: list[bytes] = []  # every uncorrupted data payload, in order
        self.record_clean = False
        self.responses = 0
        self.corrupted = 0

    def serve(self, stop: threading.Event, *, poll_s: float = 0.05) -> None:
        """Answer requests until ``stop`` is set; between requests, latch each sample into the
        registers when it falls due.

        Only ``stop`` ends it quietly. A device that is still wanted but whose fd fails or
        reaches its end raises :class:`LinkLost`: the thread contract turns that into an ERROR
        and the exit that gets the emulator restarted, instead of a process that looks like it
        serves while nothing answers."""
        while not stop.is_set():
            due_in = self.registers.latch_due_sample()
            wait = poll_s if due_in is None else min(poll_s, max(0.0, due_in))
            try:
                ready, _, _ = select.select([self.fd], [], [], wait)
            except (OSError, ValueError) as exc:
                if stop.is_set():
                    return
                raise LinkLost(f'the pty master (fd {self.fd}) failed: {exc}') from exc
            if not ready:
                self._check_timeout()
                continue
            try:
                chunk = os.read(self.fd, 4096)
            except OSError as exc:
                if exc.errno != errno.EIO:
                    raise LinkLost(f'reading the pty master (fd {self.fd}) failed: '
                                   f'{exc}') from exc
                # EIO: nobody holds the slave side open right now; wait for a client.
                time.sleep(poll_s)
                continue
            if not chunk:
                raise LinkLost(f'the pty master (fd {self.fd}) reached its end')
            self.feed(chunk)

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while self._buffer:
            if self._buffer[0] != reg.UART_START:
                del self._buffer[0]
                self._send(bytes((reg.UART_STATUS, reg.UartStatus.WRONG_START_BYTE)))
                continue
            if len(self._buffer) < 4:
                break
            cmd, register, length = self._buffer[1], self._buffer[2], self._buffer[3]
            if cmd == reg.UART_CMD_READ:
                del self._buffer[:4]
                self._answer_read(register, length)
            elif cmd == reg.UART_CMD_WRITE:
                if length == 0:
                    del self._buffer[:4]
                    self._send(bytes((reg.UART_STATUS, reg.UartStatus.MIN_LENGTH_ERROR)))
                    continue
                if len(self._buffer) < 4 + length:
                    break
                data = bytes(self._buffer[4:4 + length])
                del self._buffer[:4 + length]
                status = self.registers.write(register, data)
                self._send(bytes((reg.UART_STATUS, int(status))))
            else:
                del self._buffer[:2]
                self._send(bytes((reg.UART_STATUS, reg.UartStatus.WRONG_START_BYTE)))
        self._partial_since = time.monotonic() if self._buffer else None

    def _check_timeout(self) -> None:
        if self._partial_since and time.monotonic() - self._partial_since > self.char_timeout_s:
            self._buffer.clear()
            self._partial_since = None
            self._send(bytes((reg.UART_STATUS, reg.UartStatus.RECEIVE_CHARACTER_TIMEOUT)))

    def _answer_read(self, register: int, length: int) -> None:
        if length == 0:
            self._send(bytes((reg.UART_STATUS, reg.UartStatus.MIN_LENGTH_ERROR)))
            return
        if length > reg.UART_MAX_LENGTH:
            self._send(bytes((reg.UART_STATUS, reg.UartStatus.MAX_LENGTH_ERROR)))
            return
        result = self.registers.read(register, length)
        if isinstance(result, reg.UartStatus):
            self._send(bytes((reg.UART_STATUS, int(result))))
            return
        frame = bytes((reg.UART_READ_OK, length)) + result
        corrupted = self._corrupt(frame)
        if corrupted is None:
            if self.record_clean and register == reg.ACC_DATA_X_LSB:
                self.clean_data_payloads.append(result)
            self._send(frame)
        else:
            self.corrupted += 1
            self._send(corrupted)

    def _corrupt(self, frame: bytes) -> bytes | None:
        f, rng = self.faults, self._rng
        roll = rng.random
        if roll() < f.silence:
            return b''
        if roll() < f.bus_overrun:
            return bytes((reg.UART_STATUS, reg.UartStatus.BUS_OVER_RUN_ERROR))
        if roll() < f.garbage_before:
            return bytes(rng.choice((0x00, 0x55, 0xBB, 0xEE, 0x7F, 0xFF))
                         for _ in range(rng.randint(1, 6))) + frame
        if roll() < f.bad_header:
            return bytes((rng.choice((0x00, 0xAA, 0xBA, 0xFF)),)) + frame[1:]
        if roll() < f.truncate:
            return frame[:rng.randint(1, len(frame) - 1)]
        if roll() < f.insert_byte:
            at = rng.randint(2, len(frame))
            return frame[:at] + bytes((rng.randrange(256),)) + frame[at:]
        return None

    def _send(self, data: bytes) -> None:
        self.responses += 1
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
            except BlockingIOError:
                select.select([], [self.fd], [], 0.01)
                continue
            except OSError:
                return  # peer gone; the request will time out on its side
            view = view[n:]
