"""The MPU-9250's AK8963 magnetometer: identify it, read its factory sensitivity adjustment
(fuse ROM), run it at 100 Hz with 16-bit output, and decode its data into tesla in the MPU's
frame.

The host reaches it through an :class:`AuxBus`, one of two routes:

- :class:`MasterAuxBus`: the MPU's own auxiliary I2C master, the only route when the MPU is on
  SPI. Set-up goes byte by byte through slave 4; slave 0 then copies ST1..ST2 into
  EXT_SENS_DATA on every sample, where the host reads them with the other sensor registers.
- :class:`BypassAuxBus`: the MPU passes its auxiliary pins through (INT_PIN_CFG.BYPASS_EN)
  and the host talks to the AK8963 at 0x0C on the same I2C bus.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Protocol

from jetson_edge_imu import ak8963_registers as ak
from jetson_edge_imu import mpu_registers as reg
from jetson_edge_imu.errors import DeviceIdentityError, ProtocolError, TransportError
from jetson_edge_imu.quaternion import Vec3
from jetson_edge_imu.transport import RegisterIO

_DATA = struct.Struct('<3h')
_SRST_S = 0.01
# Slave 4 runs once per MPU sample (1 ms at 1 kHz); a transfer not done after this many polls of
# I2C_MST_STATUS, a millisecond apart, did not happen.
_SLV4_POLLS = 50


class AuxBus(Protocol):
    """Register access to the AK8963, whichever route."""

    def read(self, register: int, length: int) -> bytes: ...

    def write(self, register: int, value: int) -> None: ...

    def start_continuous_read(self, register: int, length: int) -> None:
        """From now on, ``read_block`` returns ``length`` bytes from ``register`` on."""
        ...

    def read_block(self, length: int) -> bytes: ...


class MasterAuxBus:
    """The AK8963 behind the MPU's I2C master (USER_CTRL.I2C_MST_EN set by the caller)."""

    def __init__(self, io: RegisterIO, *, sleep: Callable[[float], None]) -> None:
        self._io = io
        self._sleep = sleep

    def setup(self) -> None:
        self._io.write(reg.I2C_MST_CTRL, bytes((reg.I2C_MST_CLK_400KHZ,)))

    def _slv4(self, address: int, register: int, value: int = 0) -> int:
        io = self._io
        io.write(reg.I2C_SLV4_ADDR, bytes((address,)))
        io.write(reg.I2C_SLV4_REG, bytes((register,)))
        if not address & reg.I2C_SLV_READ:
            io.write(reg.I2C_SLV4_DO, bytes((value,)))
        io.write(reg.I2C_SLV4_CTRL, bytes((reg.I2C_SLV_EN,)))
        for _ in range(_SLV4_POLLS):
            status = io.read(reg.I2C_MST_STATUS, 1)[0]
            if status & reg.I2C_MST_STATUS_SLV4_NACK:
                raise TransportError(
                    f'the AK8963 did not acknowledge register 0x{register:02x} on the MPU\'s '
                    'auxiliary I2C bus; is this an MPU-9250 (set magnetometer off for an '
                    'MPU-6500)?')
            if status & reg.I2C_MST_STATUS_SLV4_DONE:
                return io.read(reg.I2C_SLV4_DI, 1)[0]
            self._sleep(0.001)
        raise TransportError('the MPU\'s auxiliary I2C master did not finish a transfer to the '
                             'AK8963 (is the MPU awake with its sample clock running?)')

    def read(self, register: int, length: int) -> bytes:
        return bytes(self._slv4(ak.I2C_ADDRESS | reg.I2C_SLV_READ, register + i)
                     for i in range(length))

    def write(self, register: int, value: int) -> None:
        self._slv4(ak.I2C_ADDRESS, register, value)

    def start_continuous_read(self, register: int, length: int) -> None:
        io = self._io
        io.write(reg.I2C_SLV0_ADDR, bytes((ak.I2C_ADDRESS | reg.I2C_SLV_READ,)))
        io.write(reg.I2C_SLV0_REG, bytes((register,)))
        io.write(reg.I2C_SLV0_CTRL, bytes((reg.I2C_SLV_EN | length,)))

    def read_block(self, length: int) -> bytes:
        return self._io.read(reg.EXT_SENS_DATA_00, length)


class BypassAuxBus:
    """The AK8963 on the host's I2C bus (INT_PIN_CFG.BYPASS_EN set by the caller)."""

    def __init__(self, io: RegisterIO) -> None:
        self._io = io
        self._register = ak.ST1

    def read(self, register: int, length: int) -> bytes:
        return self._io.read(register, length)

    def write(self, register: int, value: int) -> None:
        self._io.write(register, bytes((value,)))

    def start_continuous_read(self, register: int, length: int) -> None:
        self._register = register

    def read_block(self, length: int) -> bytes:
        return self._io.read(self._register, length)


class Ak8963:
    """One AK8963 on an :class:`AuxBus`. ``read`` returns the field (T, MPU frame) or ``None``
    when there is none to use: no measurement yet, or an overflow (counted in ``overflows``)."""

    def __init__(self, bus: AuxBus, *, sleep: Callable[[float], None]) -> None:
        self._bus = bus
        self._sleep = sleep
        self.sensitivity: Vec3 = (1.0, 1.0, 1.0)
        self.asa: tuple[int, int, int] | None = None
        self.overflows = 0

    def start(self) -> None:
        bus = self._bus
        wia = bus.read(ak.WIA, 1)[0]
        if wia != ak.WIA_VALUE:
            raise DeviceIdentityError(f'AK8963 WIA is 0x{wia:02x}, not 0x{ak.WIA_VALUE:02x}: no '
                                      'magnetometer answers at 0x0C behind the MPU')
        bus.write(ak.CNTL2, ak.CNTL2_SRST)
        self._sleep(_SRST_S)
        self._set_mode(ak.CNTL1_FUSE_ROM)
        asa = bus.read(ak.ASAX, 3)
        self.asa = (asa[0], asa[1], asa[2])
        self.sensitivity = tuple(ak.sensitivity_factor(a) for a in asa)
        self._set_mode(ak.CNTL1_BIT_16 | ak.CNTL1_CONTINUOUS_100HZ)
        bus.start_continuous_read(ak.ST1, ak.BLOCK_BYTES)

    def _set_mode(self, mode: int) -> None:
        # The data sheet asks for power-down, then at least 100 us, before any other mode.
        self._bus.write(ak.CNTL1, ak.CNTL1_POWER_DOWN)
        self._sleep(ak.MODE_CHANGE_S)
        self._bus.write(ak.CNTL1, mode)
        self._sleep(ak.MODE_CHANGE_S)

    def read(self) -> Vec3 | None:
        return self.decode(self._bus.read_block(ak.BLOCK_BYTES))

    def decode(self, block: bytes) -> Vec3 | None:
        if len(block) != ak.BLOCK_BYTES:
            raise ProtocolError(f'AK8963 block of {len(block)} bytes, not {ak.BLOCK_BYTES}')
        if not any(block):
            return None  # the MPU's master has not copied a measurement yet
        st2 = block[7]
        if st2 & ak.ST2_HOFL:
            self.overflows += 1
            return None
        if not st2 & ak.ST2_BITM:
            raise ProtocolError('AK8963 reports 14-bit output although 16-bit was set: it was '
                                'reset behind the driver\'s back')
        hx, hy, hz = _DATA.unpack_from(block, 1)
        sx, sy, sz = self.sensitivity
        k = ak.TESLA_PER_LSB_16
        return ak.to_mpu_axes(hx * sx * k, hy * sy * k, hz * sz * k)
