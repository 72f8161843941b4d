"""A register-level AK8963, the magnetometer die of an MPU-9250, for the MPU emulator's
auxiliary I2C bus (and the host's bus in bypass mode).

It models what the driver relies on: WIA 0x48, soft reset (CNTL2.SRST), the modes of CNTL1
(power-down, continuous 8 Hz and 100 Hz, fuse ROM; the sensitivity adjustment ASAX..ASAZ
readable only in fuse-ROM mode), 14- or 16-bit output (ST2.BITM mirrors CNTL1.BIT), ST1.DRDY
set by a new measurement and cleared by reading ST2, and the overflow flag ST2.HOFL when
|X| + |Y| + |Z| reaches 4912 uT. Its output is the emulated motion's field divided by the
factory adjustment, so a driver that forgets to apply ASA is off by that factor. Mode changes
that skip power-down, which the data sheet forbids, are counted.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from jetson_edge_imu import ak8963_registers as ak
from jetson_edge_sim.imu.sim_sensor import SimulatedSensor

# The factory adjustment of one real part (ASA values near 128 +- 50 are typical).
DEFAULT_ASA = (176, 178, 165)
_TESLA_PER_LSB_14 = 0.6e-6
_MAX_16 = 32760
_MAX_14 = 8190


class Ak8963Emulator:
    """Register access as the MPU's I2C master (or the host, in bypass) performs it."""

    def __init__(self, sensor: SimulatedSensor, clock: Callable[[], float], *,
                 asa: tuple[int, int, int] = DEFAULT_ASA) -> None:
        self.sensor = sensor
        self.asa = asa
        self._clock = clock
        self.overflow_next = 0  # report HOFL for the next N measurements (a magnet nearby)
        self.mode_violations = 0
        self.measurements = 0
        self._reset()

    def _reset(self) -> None:
        self.regs = bytearray(0x13)
        self.regs[ak.WIA] = ak.WIA_VALUE
        self._next_t: float | None = None

    @property
    def mode(self) -> int:
        return self.regs[ak.CNTL1] & 0x0F

    def read(self, register: int, length: int) -> bytes:
        self._advance(self._clock())
        out = bytearray()
        for r in range(register, register + length):
            if ak.ASAX <= r <= ak.ASAX + 2:
                out.append(self.asa[r - ak.ASAX] if self.mode == ak.CNTL1_FUSE_ROM else 0)
            elif r < len(self.regs):
                out.append(self.regs[r])
            else:
                out.append(0)
            if r == ak.ST2:
                self.regs[ak.ST1] &= ~ak.ST1_DRDY & 0xFF
        return bytes(out)

    def write(self, register: int, value: int) -> None:
        if register == ak.CNTL2:
            if value & ak.CNTL2_SRST:
                self._reset()
            return
        if register != ak.CNTL1:
            return
        if self.mode != ak.CNTL1_POWER_DOWN and value & 0x0F != ak.CNTL1_POWER_DOWN:
            self.mode_violations += 1
        self.regs[ak.CNTL1] = value
        self.regs[ak.ST2] = value & ak.ST2_BITM  # BITM (bit 4) mirrors BIT (bit 4)
        rate = ak.RATE_HZ_BY_MODE.get(value & 0x0F)
        self._next_t = self._clock() + 1.0 / rate if rate else None

    def _advance(self, now: float) -> None:
        rate = ak.RATE_HZ_BY_MODE.get(self.mode)
        if rate is None or self._next_t is None or now < self._next_t:
            return
        period = 1.0 / rate
        due = int((now - self._next_t) / period) + 1
        self._next_t += due * period
        self._measure(self._next_t - period)

    def _measure(self, t: float) -> None:
        self.measurements += 1
        field = ak.to_mpu_axes(*self.sensor.magnetic_field(t))  # its own axes (self-inverse)
        sixteen = bool(self.regs[ak.CNTL1] & ak.CNTL1_BIT_16)
        lsb, limit = (ak.TESLA_PER_LSB_16, _MAX_16) if sixteen else (_TESLA_PER_LSB_14, _MAX_14)
        raw = [max(-limit, min(limit, round(v / (lsb * ak.sensitivity_factor(a)))))
               for v, a in zip(field, self.asa)]
        overflow = sum(abs(v) for v in field) >= ak.RANGE_TESLA
        if self.overflow_next > 0:
            self.overflow_next -= 1
            overflow = True
        self.regs[ak.HXL:ak.HXL + 6] = struct.pack('<3h', *raw)
        self.regs[ak.ST1] |= ak.ST1_DRDY
        self.regs[ak.ST2] = (ak.ST2_BITM if sixteen else 0) | (ak.ST2_HOFL if overflow else 0)
