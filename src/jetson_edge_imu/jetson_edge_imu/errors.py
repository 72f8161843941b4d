"""The one exception hierarchy of jetson_edge_imu.

Foreign errors (OSError from a bus, serial.SerialException) are wrapped at the IO seam into
these, so the driver loop only has to know about ``ImuError`` subclasses.
"""


class ImuError(Exception):
    """Base of every error raised by this package."""


class ConfigError(ImuError):
    """A parameter value that cannot work (bad rotation, unknown device, range not supported)."""


class TransportError(ImuError):
    """The bus or serial port failed (I2C NACK, port vanished, timeout). Reconnecting may help."""


class ProtocolError(TransportError):
    """Bytes arrived that do not follow the device protocol (bad header, wrong length, garbage)."""


class DeviceStatusError(TransportError):
    """The device answered with an error status (BNO055 UART 0xEE response)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class DeviceIdentityError(ImuError):
    """WHO_AM_I / CHIP_ID did not match: wrong address, wrong device type, or wiring fault."""


class CalibrationFileError(ImuError):
    """The calibration offsets file exists but cannot be read or does not validate."""


class CalibrationSaveError(CalibrationFileError):
    """The offsets could not be written (unwritable path, full disk, read-only filesystem):
    the environment's fault, reported and retried; the readings go on."""
