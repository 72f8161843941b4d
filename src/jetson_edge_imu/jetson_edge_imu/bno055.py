"""Bosch BNO055 device logic over any ``RegisterIO`` (I2C or UART): identify, configure SI
units and the operating mode, restore calibration offsets, read samples."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

from jetson_edge_imu import bno055_registers as reg
from jetson_edge_imu.calibration import CalibrationOffsets, CalibrationStatus
from jetson_edge_imu.errors import DeviceIdentityError, TransportError
from jetson_edge_imu.samples import DeviceSample
from jetson_edge_imu.transport import RegisterIO

_FUSION = struct.Struct('<3h3h3h3h4h')  # accel, mag, gyro, euler, quaternion (w, x, y, z)
_RAW = struct.Struct('<3h3h3h')

MODES_BY_NAME = {m.name.lower(): m for m in reg.OperatingMode if m != reg.OperatingMode.CONFIG}


class Bno055:
    """One BNO055. ``configure`` before ``read_sample``; ``io`` is owned by the caller."""

    def __init__(self, io: RegisterIO, *, mode: str = 'ndof',
                 sleep: Callable[[float], None] = time.sleep) -> None:
        try:
            self.mode = MODES_BY_NAME[mode.lower()]
        except KeyError:
            raise ValueError(f'unknown BNO055 mode {mode!r}; choose one of '
                             f'{sorted(MODES_BY_NAME)}') from None
        if self.mode in (reg.OperatingMode.MAGONLY, reg.OperatingMode.ACCONLY,
                         reg.OperatingMode.GYROONLY, reg.OperatingMode.ACCMAG,
                         reg.OperatingMode.MAGGYRO, reg.OperatingMode.COMPASS,
                         reg.OperatingMode.M4G):
            raise ValueError(f'BNO055 mode {mode!r} lacks accelerometer or gyroscope output; '
                             'an IMU driver needs one of amg, accgyro, imu, ndof_fmc_off, ndof')
        self._io = io
        self._sleep = sleep
        self._block = reg.FUSION_BLOCK if self.mode.is_fusion else reg.RAW_BLOCK
        self.read_length = self._block[1]
        self.software_revision = 0

    @property
    def has_fusion(self) -> bool:
        return self.mode.is_fusion

    def probe(self, *, attempts: int = 3) -> None:
        """Check CHIP_ID; the device ignores the bus for 650 ms after power-on, so retry."""
        last: Exception | None = None
        for _ in range(attempts):
            try:
                self._io.write(reg.PAGE_ID, b'\x00')
                ident = self._io.read(reg.CHIP_ID, 7)
                break
            except TransportError as exc:
                last = exc
                self._sleep(reg.POWER_ON_RESET_S)
        else:
            raise TransportError(f'BNO055 did not answer after {attempts} attempts: {last}')
        if ident[0] != reg.CHIP_ID_VALUE:
            raise DeviceIdentityError(
                f'CHIP_ID is 0x{ident[0]:02x}, a BNO055 reports 0x{reg.CHIP_ID_VALUE:02x}; '
                'check device_type, address (0x28/0x29) or port')
        self.software_revision = ident[4] | (ident[5] << 8)

    def configure(self, *, offsets: CalibrationOffsets | None = None) -> None:
        """CONFIG mode, normal power, SI units, optional offsets, then the operating mode."""
        self.set_mode(reg.OperatingMode.CONFIG)
        self._io.write(reg.PWR_MODE, bytes((reg.PWR_MODE_NORMAL,)))
        self._io.write(reg.UNIT_SEL, bytes((reg.SI_UNITS,)))
        if offsets is not None:
            self._io.write(reg.CALIBRATION_BLOCK_START, offsets.to_bytes())
        self.set_mode(self.mode)

    def set_mode(self, mode: reg.OperatingMode) -> None:
        self._io.write(reg.OPR_MODE, bytes((int(mode),)))
        self._sleep(reg.SWITCH_TO_CONFIG_S if mode == reg.OperatingMode.CONFIG
                    else reg.SWITCH_FROM_CONFIG_S)

    def read_sample(self) -> DeviceSample:
        block = self._io.read(*self._block)
        return self.decode(block)

    def decode(self, block: bytes) -> DeviceSample:
        if self.mode.is_fusion:
            v = _FUSION.unpack(block)
            gyro_raw = v[6:9]
            q = (v[12] / reg.QUAT_LSB, v[13] / reg.QUAT_LSB, v[14] / reg.QUAT_LSB,
                 v[15] / reg.QUAT_LSB)
        else:
            v = _RAW.unpack(block)
            gyro_raw = v[6:9]
            q = None
        a = reg.ACCEL_LSB_PER_MS2
        g = reg.GYRO_LSB_PER_RPS
        accel = (v[0] / a, v[1] / a, v[2] / a)
        gyro = (gyro_raw[0] / g, gyro_raw[1] / g, gyro_raw[2] / g)
        accel_fs = reg.FUSION_ACCEL_RANGE_MS2 * a * 0.999
        gyro_fs = reg.FUSION_GYRO_RANGE_RPS * g * 0.999
        saturated = (max(abs(v[0]), abs(v[1]), abs(v[2])) >= accel_fs
                     or max(abs(gyro_raw[0]), abs(gyro_raw[1]), abs(gyro_raw[2])) >= gyro_fs)
        return DeviceSample(accel, gyro, block, saturated, q)

    def read_status(self) -> tuple[float, CalibrationStatus]:
        """Temperature in Celsius and calibration status (one short read)."""
        data = self._io.read(*reg.SLOW_BLOCK)
        temperature = float(struct.unpack('<b', data[0:1])[0])
        return temperature, CalibrationStatus.from_byte(data[1])

    def read_offsets(self) -> CalibrationOffsets:
        """Offsets are only readable in CONFIG mode; the operating mode is restored after."""
        self.set_mode(reg.OperatingMode.CONFIG)
        try:
            block = self._io.read(reg.CALIBRATION_BLOCK_START, reg.CALIBRATION_BLOCK_LENGTH)
        finally:
            self.set_mode(self.mode)
        return CalibrationOffsets.from_bytes(block)
