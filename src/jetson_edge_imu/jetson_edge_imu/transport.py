"""The IO seam: register access over I2C (an smbus2 ``SMBus``-like object), over SPI (a
``spidev.SpiDev``-like object) or over a serial port (pyserial), behind one small
``RegisterIO`` interface the device classes use.

Real hardware, the register-level MPU emulator and the BNO055 emulator behind a pseudo-terminal
all plug in here; nothing above this module knows which one it talks to. Foreign exceptions
(``OSError`` from the I2C adapter or the SPI device, ``serial.SerialException``) become
``TransportError``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Protocol

from jetson_edge_imu import mpu_registers as mpu_reg
from jetson_edge_imu.errors import ConfigError, TransportError
from jetson_edge_imu.mpu_registers import SMBUS_BLOCK_MAX

# Another package may stand in for spidev (``spi_backend``): an entry point in this group names
# a callable (bus, chip_select) -> SpiDevLike. jetson_edge_sim registers ``sim``.
SPI_BACKENDS = 'jetson_edge_imu.spi_backends'


class SMBusLike(Protocol):
    """The subset of ``smbus2.SMBus`` the drivers call."""

    def read_byte_data(self, i2c_addr: int, register: int) -> int: ...

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]: ...

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None: ...

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: list[int]) -> None: ...

    def close(self) -> None: ...


class SpiDevLike(Protocol):
    """The subset of ``spidev.SpiDev`` the SPI link uses (opened on /dev/spidevB.C)."""

    mode: int
    max_speed_hz: int

    def xfer2(self, values: list[int], speed_hz: int = 0, delay_usecs: int = 0,
              bits_per_word: int = 0) -> list[int]:
        """One transfer with chip select held: as many bytes in as out."""
        ...

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

    def at_address(self, address: int) -> 'I2CRegisterIO':
        """Another device on the same bus (the AK8963 behind an MPU in bypass mode); closing
        either closes the bus."""
        return I2CRegisterIO(self._bus, address, bus_hz=self._bus_hz)


class SpiRegisterIO:
    """``RegisterIO`` over a spidev-like object, in the MPU-6500/9250 framing: SPI mode 3; the
    first byte is the register, bit 7 set for a read; the register address increments through a
    burst (except at the FIFO port), so the sensor block is one transfer.

    Writes and reads of configuration registers go at ``config_hz``; reads of the sensor,
    interrupt and FIFO registers at ``read_hz`` (the datasheet's 1 MHz and 20 MHz limits).
    """

    def __init__(self, spi: SpiDevLike, *, config_hz: int = mpu_reg.SPI_CONFIG_HZ_MAX,
                 read_hz: int = mpu_reg.SPI_SENSOR_HZ_MAX, name: str = 'spi') -> None:
        if not 0 < config_hz <= mpu_reg.SPI_CONFIG_HZ_MAX:
            raise ConfigError(f'SPI configuration clock {config_hz} Hz is outside 1..'
                              f'{mpu_reg.SPI_CONFIG_HZ_MAX} Hz (the MPU allows 1 MHz for its '
                              'configuration registers)')
        if not 0 < read_hz <= mpu_reg.SPI_SENSOR_HZ_MAX:
            raise ConfigError(f'SPI sensor read clock {read_hz} Hz is outside 1..'
                              f'{mpu_reg.SPI_SENSOR_HZ_MAX} Hz')
        self._spi = spi
        self.name = name
        self.config_hz = config_hz
        self.read_hz = read_hz
        self.errors = 0
        try:
            spi.mode = mpu_reg.SPI_MODE
            spi.max_speed_hz = config_hz
        except OSError as exc:
            raise TransportError(f'cannot set SPI mode 3 at {config_hz} Hz on {name}: '
                                 f'{exc}') from exc

    def _transfer(self, out: list[int], speed_hz: int, what: str) -> list[int]:
        try:
            answer = self._spi.xfer2(out, speed_hz)
        except OSError as exc:
            self.errors += 1
            raise TransportError(f'SPI {what} on {self.name} failed: {exc}; check the wiring '
                                 'and the bus and chip select') from exc
        if len(answer) != len(out):
            self.errors += 1
            raise TransportError(f'SPI {what} on {self.name} returned {len(answer)} bytes for '
                                 f'{len(out)}')
        return answer

    def read(self, register: int, length: int) -> bytes:
        if not 0 <= register <= 0x7F:
            raise ValueError(f'register 0x{register:02x} is not a 7-bit address')
        speed = (self.read_hz if register in mpu_reg.SPI_FAST_READ_REGISTERS
                 else self.config_hz)
        answer = self._transfer([register | mpu_reg.SPI_READ] + [0] * length, speed,
                                f'read of 0x{register:02x}')
        return bytes(answer[1:])

    def write(self, register: int, data: bytes) -> None:
        if not 0 <= register <= 0x7F:
            raise ValueError(f'register 0x{register:02x} is not a 7-bit address')
        self._transfer([register, *data], self.config_hz, f'write of 0x{register:02x}')

    def request_time_s(self) -> float:
        # the register byte; the sensor reads go at the fast clock
        return 8 / self.read_hz

    def close(self) -> None:
        self._spi.close()


def open_spi(bus: int, chip_select: int, *, backend: str = 'spidev') -> SpiDevLike:
    """Open ``/dev/spidev<bus>.<chip_select>`` with spidev, or the stand-in another installed
    package registers as ``backend`` (entry point group ``SPI_BACKENDS``)."""
    if backend != 'spidev':
        found = {ep.name: ep for ep in entry_points(group=SPI_BACKENDS)}
        if backend not in found:
            raise ConfigError(
                f'spi_backend {backend!r} is not installed (installed: '
                f'{", ".join(sorted(found)) or "none"}); the sim backend comes with '
                'jetson_edge_sim, which a robot does not install: use spi_backend spidev')
        opener: Callable[[int, int], SpiDevLike] = found[backend].load()
        return opener(bus, chip_select)
    try:
        import spidev
    except ImportError as exc:
        raise TransportError(
            'the spidev package is not installed, and interface spi needs it: pip install '
            'spidev (a C extension: it needs gcc and python3-dev), or use interface i2c') from exc
    spi = spidev.SpiDev()
    try:
        spi.open(bus, chip_select)
    except OSError as exc:
        raise TransportError(
            f'cannot open /dev/spidev{bus}.{chip_select}: {exc}; is the SPI controller enabled '
            '(jetson-io) and may this user open it (spi group or a udev rule)?') from exc
    return spi


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
