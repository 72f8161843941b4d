"""The IO seam: register access over I2C (an smbus2 ``SMBus``-like object) or over a serial
port (pyserial), behind one small ``RegisterIO`` interface the device classes use.

Real hardware, the register-level MPU emulator and the BNO055 emulator behind a pseudo-terminal
all plug in here; nothing above this module knows which one it talks to. Foreign exceptions
(``OSError`` from the I2C adapter, ``serial.SerialException``) become ``TransportError``.
"""

from __future__ import annotations

from typing import Protocol

from jetson_edge_imu.errors import TransportError
from jetson_edge_imu.mpu_registers import SMBUS_BLOCK_MAX


class SMBusLike(Protocol):
    """The subset of ``smbus2.SMBus`` the drivers call."""

    def read_byte_data(self, i2c_addr: int, register: int) -> int: ...

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]: ...

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None: ...

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: list[int]) -> None: ...

    def close(self) -> None: ...


class SerialLike(Protocol):
    """The subset of ``serial.Serial`` the BNO055 UART link uses: it owns the configured port
    (baud, 8N1, raw, exclusive); frames move through its file descriptor."""

    timeout: float | None

    def fileno(self) -> int: ...

    def close(self) -> None: ...


class RegisterIO(Protocol):
    """Register reads and writes, whatever the wire."""

    def read(self, register: int, length: int) -> bytes: ...

    def write(self, register: int, data: bytes) -> None: ...

    def request_time_s(self) -> float:
        """Seconds from the start of a read until the device has the request and latches the
        data it answers with (for stamp correction)."""
        ...

    def close(self) -> None: ...


class I2CRegisterIO:
    """``RegisterIO`` over an SMBus-like object at one 7-bit address.

    Reads longer than the SMBus block limit (32 bytes) are split. ``fifo_register`` names a
    register that does not auto-increment (a FIFO port): chunks of a long read all start there.
    """

    def __init__(self, bus: SMBusLike, address: int, *, bus_hz: int = 400_000,
                 fifo_register: int | None = None) -> None:
        if not 0x03 <= address <= 0x77:
            raise ValueError(f'I2C address 0x{address:02x} is outside the 7-bit range 0x03..0x77')
        self._bus = bus
        self.address = address
        self._bus_hz = bus_hz
        self._fifo_register = fifo_register
        self.errors = 0

    def read(self, register: int, length: int) -> bytes:
        out = bytearray()
        try:
            while len(out) < length:
                n = min(SMBUS_BLOCK_MAX, length - len(out))
                start = register if register == self._fifo_register else register + len(out)
                out += bytes(self._bus.read_i2c_block_data(self.address, start, n))
        except OSError as exc:
            self.errors += 1
            raise TransportError(
                f'I2C read of 0x{register:02x} at address 0x{self.address:02x} failed: {exc}; '
                'check wiring, the bus number and the address') from exc
        return bytes(out)

    def write(self, register: int, data: bytes) -> None:
        try:
            if len(data) == 1:
                self._bus.write_byte_data(self.address, register, data[0])
            else:
                self._bus.write_i2c_block_data(self.address, register, list(data))
        except OSError as exc:
            self.errors += 1
            raise TransportError(
                f'I2C write of 0x{register:02x} at address 0x{self.address:02x} failed: {exc}'
            ) from exc

    def request_time_s(self) -> float:
        # address/write, register, repeated start + address/read: 9 clocks each, then data
        return 3 * 9 / self._bus_hz

    def close(self) -> None:
        self._bus.close()


def open_smbus(bus: int) -> SMBusLike:
    """Open ``/dev/i2c-<bus>`` with smbus2 (imported lazily: only real hardware needs it)."""
    try:
        import smbus2
    except ImportError as exc:  # pragma: no cover - smbus2 is a pinned dependency
        raise TransportError('smbus2 is not installed: pip install smbus2') from exc
    try:
        return smbus2.SMBus(bus)
    except OSError as exc:
        raise TransportError(
            f'cannot open /dev/i2c-{bus}: {exc}; is the bus enabled and are you in the i2c '
            'group?') from exc


def open_serial(port: str, baud: int, *, timeout_s: float) -> SerialLike:
    """Open a serial port (or a pseudo-terminal) 8N1, raw, with pyserial."""
    import serial

    try:
        return serial.Serial(port=port, baudrate=baud, bytesize=8, parity='N', stopbits=1,
                             timeout=timeout_s, exclusive=True)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise TransportError(f'cannot open serial port {port} at {baud} baud: {exc}') from exc
