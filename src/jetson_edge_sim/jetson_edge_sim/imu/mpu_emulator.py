"""A register-level MPU-6050/6500/9250 behind the smbus2 calls the driver makes.

No I2C bus can exist on a development machine or in CI, so this object stands in for
``smbus2.SMBus``: same methods, same ``OSError`` on a NACK (the SPI face, with spidev's
methods, is :mod:`jetson_edge_sim.imu.spi_emulator`). It models what the driver relies
on: reset values (asleep after power-on), DEVICE_RESET, SLEEP, WHO_AM_I, the sample clock
(internal rate / (1 + SMPLRT_DIV), 8 kHz with DLPF_CFG 0 or 7), full-scale ranges with int16
saturation, the data registers, INT_STATUS (cleared on read), and the FIFO (sensor selection
from FIFO_EN, FIFO_RESET, byte-level overflow that leaves the stream misaligned, FIFO_R_W
that pops instead of auto-incrementing). An MPU-9250 carries an AK8963 on its auxiliary bus:
the I2C master (USER_CTRL.I2C_MST_EN) runs slave 4 transfers when I2C_SLV4_CTRL is enabled
(I2C_MST_STATUS says done or NACK, cleared on read) and keeps EXT_SENS_DATA filled from slave
0; with INT_PIN_CFG.BYPASS_EN (and the master off) the AK8963 answers at 0x0C on the host's
bus. USER_CTRL.I2C_IF_DIS turns the I2C face off. Time is a callable, so tests run simulated
time.
"""

from __future__ import annotations

import errno
import math
import struct
from collections import deque
from collections.abc import Callable

from jetson_edge_imu import ak8963_registers as ak
from jetson_edge_imu import mpu_registers as reg
from jetson_edge_imu.motion import STANDARD_GRAVITY
from jetson_edge_sim.imu.ak8963_emulator import Ak8963Emulator
from jetson_edge_sim.imu.sim_sensor import SimulatedSensor

_READ_ONLY = {reg.WHO_AM_I, reg.INT_STATUS, reg.FIFO_COUNTH, reg.FIFO_COUNTH + 1,
              reg.I2C_MST_STATUS, reg.I2C_SLV4_DI,
              *range(reg.ACCEL_XOUT_H, reg.GYRO_XOUT_H + 6),
              *range(reg.EXT_SENS_DATA_00, reg.EXT_SENS_DATA_23 + 1)}
_MAX_CATCH_UP = 4096  # samples generated after a long gap; older ones would be lost anyway


def _clip16(v: float) -> int:
    return max(-32768, min(32767, int(round(v))))


class MpuEmulator:
    """SMBus-like MPU. ``clock()`` returns seconds (simulated or real)."""

    def __init__(self, sensor: SimulatedSensor, clock: Callable[[], float], *,
                 chip: str = 'mpu6050', address: int = 0x68) -> None:
        if chip not in reg.WHO_AM_I_BY_CHIP:
            raise ValueError(f'unknown chip {chip!r}')
        self.sensor = sensor
        self.chip = chip
        self.address = address
        self._clock = clock
        self.regs = bytearray(128)
        self.fifo: deque[int] = deque()
        self.fifo_size = reg.FIFO_SIZE[chip]
        self.magnetometer = (Ak8963Emulator(sensor, clock) if chip == 'mpu9250' else None)
        self.fail_next = 0  # NACK the next N transactions (like a loose connector)
        self.stuck = False  # keep re-latching the same sample (a frozen sensor)
        self.samples_generated = 0
        self.transactions = 0
        self.closed = False
        self._power_on_reset()

    # -- smbus2 surface --------------------------------------------------------------------
    def read_byte_data(self, i2c_addr: int, register: int) -> int:
        return self.read_i2c_block_data(i2c_addr, register, 1)[0]

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        self._transaction(i2c_addr)
        if not 1 <= length <= reg.SMBUS_BLOCK_MAX:
            raise OSError(errno.EINVAL, 'SMBus block length must be 1..32')
        if i2c_addr == ak.I2C_ADDRESS:
            return list(self.magnetometer.read(register, length))
        return self.read_burst(register, length)

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None:
        self.write_i2c_block_data(i2c_addr, register, [value])

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: list[int]) -> None:
        self._transaction(i2c_addr)
        if i2c_addr == ak.I2C_ADDRESS:
            for i, value in enumerate(data):
                self.magnetometer.write(register + i, value & 0xFF)
            return
        self.write_burst(register, data)

    # -- register bursts, whatever the bus (the SPI face calls these too) -----------------
    def read_burst(self, register: int, length: int) -> list[int]:
        if register <= reg.EXT_SENS_DATA_23 and register + length > reg.EXT_SENS_DATA_00:
            self._copy_slave0()
        out = []
        addr = register
        for _ in range(length):
            out.append(self._read_register(addr))
            if addr != reg.FIFO_R_W:
                addr = (addr + 1) & 0x7F
        return out

    def write_burst(self, register: int, data: list[int]) -> None:
        for i, value in enumerate(data):
            self._write_register((register + i) & 0x7F, value & 0xFF)

    def close(self) -> None:
        self.closed = True

    def open_bus(self) -> 'MpuEmulator':
        """A fresh handle after ``close`` (opening /dev/i2c-N again); the device keeps state."""
        self.closed = False
        return self

    # -- device model ----------------------------------------------------------------------
    def _power_on_reset(self) -> None:
        self.regs[:] = bytes(128)
        self.regs[reg.PWR_MGMT_1] = reg.PWR1_SLEEP
        self.regs[reg.WHO_AM_I] = reg.WHO_AM_I_BY_CHIP[self.chip]
        self.fifo.clear()
        self._next_sample_t: float | None = None
        self._last_block = bytes(reg.SAMPLE_BYTES)

    @property
    def bypass(self) -> bool:
        return (self.magnetometer is not None
                and bool(self.regs[reg.INT_PIN_CFG] & reg.INT_PIN_CFG_BYPASS_EN)
                and not self.regs[reg.USER_CTRL] & reg.USER_CTRL_I2C_MST_EN)

    def _transaction(self, i2c_addr: int) -> None:
        self.transactions += 1
        answers = ((i2c_addr == self.address
                    and not self.regs[reg.USER_CTRL] & reg.USER_CTRL_I2C_IF_DIS)
                   or (i2c_addr == ak.I2C_ADDRESS and self.bypass))
        if not answers or self.closed:
            raise OSError(errno.EREMOTEIO, 'Remote I/O error (no ACK)')
        if self.fail_next > 0:
            self.fail_next -= 1
            raise OSError(errno.EREMOTEIO, 'Remote I/O error (no ACK)')
        self.catch_up()

    def catch_up(self) -> None:
        """Latch the samples due by now (every bus transaction starts with this)."""
        self._advance(self._clock())

    @property
    def asleep(self) -> bool:
        return bool(self.regs[reg.PWR_MGMT_1] & reg.PWR1_SLEEP)

    @property
    def sample_rate_hz(self) -> float:
        cfg = self.regs[reg.CONFIG] & 0x07
        internal = 8000.0 if cfg in (0, 7) else 1000.0
        return internal / (1 + self.regs[reg.SMPLRT_DIV])

    def _scales(self) -> tuple[float, float]:
        fs_g = reg.GYRO_RANGES_DPS[(self.regs[reg.GYRO_CONFIG] >> 3) & 3]
        fs_a = reg.ACCEL_RANGES_G[(self.regs[reg.ACCEL_CONFIG] >> 3) & 3]
        return 32768.0 / (fs_a * STANDARD_GRAVITY), 32768.0 / math.radians(fs_g)

    def _advance(self, now: float) -> None:
        if self.asleep:
            self._next_sample_t = None
            return
        period = 1.0 / self.sample_rate_hz
        if self._next_sample_t is None:
            self._next_sample_t = now + period
            return
        due = int((now - self._next_sample_t) / period) + 1 if now >= self._next_sample_t else 0
        if due <= 0:
            return
        skip = max(0, due - _MAX_CATCH_UP)
        t = self._next_sample_t + skip * period
        for _ in range(due - skip):
            self._latch(t)
            t += period
        self._next_sample_t = self._next_sample_t + due * period

    def _latch(self, t: float) -> None:
        self.samples_generated += 1
        if self.stuck:
            block = self._last_block
        else:
            m = self.sensor.measure(t)
            sa, sg = self._scales()
            chip_t = m.temperature
            raw_t = ((chip_t - 36.53) * 340.0 if self.chip == 'mpu6050'
                     else (chip_t - 21.0) * 333.87)
            block = struct.pack('>7h', *(_clip16(v * sa) for v in m.accel), _clip16(raw_t),
                                *(_clip16(v * sg) for v in m.gyro))
            self._last_block = block
        self.regs[reg.ACCEL_XOUT_H:reg.ACCEL_XOUT_H + reg.SAMPLE_BYTES] = block
        self.regs[reg.INT_STATUS] |= reg.INT_DATA_RDY
        if self.regs[reg.USER_CTRL] & reg.USER_CTRL_FIFO_EN:
            self._push_fifo(block)

    def _push_fifo(self, block: bytes) -> None:
        sel = self.regs[reg.FIFO_EN]
        data = bytearray()
        if sel & reg.FIFO_EN_ACCEL:
            data += block[0:6]
        if sel & reg.FIFO_EN_TEMP:
            data += block[6:8]
        for bit, off in ((reg.FIFO_EN_XG, 8), (reg.FIFO_EN_YG, 10), (reg.FIFO_EN_ZG, 12)):
            if sel & bit:
                data += block[off:off + 2]
        self.fifo.extend(data)
        if len(self.fifo) > self.fifo_size:
            # The oldest bytes are overwritten byte by byte: the stream is now misaligned.
            for _ in range(len(self.fifo) - self.fifo_size):
                self.fifo.popleft()
            self.regs[reg.INT_STATUS] |= reg.INT_FIFO_OFLOW

    # -- the auxiliary I2C master ----------------------------------------------------------
    @property
    def _master_on(self) -> bool:
        return self.magnetometer is not None and bool(
            self.regs[reg.USER_CTRL] & reg.USER_CTRL_I2C_MST_EN)

    def _slave4_transfer(self) -> None:
        """One slave 4 transfer (the chip runs it at the next sample; here at once)."""
        if not self._master_on:
            return  # the master is off: nothing happens, and DONE never comes
        address = self.regs[reg.I2C_SLV4_ADDR]
        register = self.regs[reg.I2C_SLV4_REG]
        if address & 0x7F != ak.I2C_ADDRESS:
            self.regs[reg.I2C_MST_STATUS] |= reg.I2C_MST_STATUS_SLV4_NACK
            return
        if address & reg.I2C_SLV_READ:
            self.regs[reg.I2C_SLV4_DI] = self.magnetometer.read(register, 1)[0]
        else:
            self.magnetometer.write(register, self.regs[reg.I2C_SLV4_DO])
        self.regs[reg.I2C_SLV4_CTRL] &= ~reg.I2C_SLV_EN & 0xFF
        self.regs[reg.I2C_MST_STATUS] |= reg.I2C_MST_STATUS_SLV4_DONE

    def _copy_slave0(self) -> None:
        """EXT_SENS_DATA as slave 0 last filled it. The chip reads the slave on every sample;
        reading it when the host looks gives the same bytes, for less work."""
        ctrl = self.regs[reg.I2C_SLV0_CTRL]
        if not (self._master_on and ctrl & reg.I2C_SLV_EN and not self.asleep):
            return
        address = self.regs[reg.I2C_SLV0_ADDR]
        if address != ak.I2C_ADDRESS | reg.I2C_SLV_READ:
            return
        n = ctrl & 0x0F
        data = self.magnetometer.read(self.regs[reg.I2C_SLV0_REG], n)
        self.regs[reg.EXT_SENS_DATA_00:reg.EXT_SENS_DATA_00 + n] = data

    def _read_register(self, address: int) -> int:
        if address in (reg.INT_STATUS, reg.I2C_MST_STATUS):
            value = self.regs[address]
            self.regs[address] = 0
            return value
        if address == reg.FIFO_COUNTH:
            return (len(self.fifo) >> 8) & 0x1F
        if address == reg.FIFO_COUNTH + 1:
            return len(self.fifo) & 0xFF
        if address == reg.FIFO_R_W:
            return self.fifo.popleft() if self.fifo else 0xFF
        return self.regs[address]

    def _write_register(self, address: int, value: int) -> None:
        if address in _READ_ONLY:
            return
        if address == reg.PWR_MGMT_1 and value & reg.PWR1_DEVICE_RESET:
            self._power_on_reset()
            return
        if address == reg.USER_CTRL and value & reg.USER_CTRL_FIFO_RESET:
            self.fifo.clear()
            value &= ~reg.USER_CTRL_FIFO_RESET
        if address == reg.FIFO_R_W:
            return
        self.regs[address] = value
        if address == reg.I2C_SLV4_CTRL and value & reg.I2C_SLV_EN:
            self._slave4_transfer()
