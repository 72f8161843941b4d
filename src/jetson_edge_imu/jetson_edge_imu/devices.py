"""One interface for every IMU protocol the driver speaks, and one implementation per protocol.

:class:`ImuDevice` is what :class:`~jetson_edge_imu.driver.ImuDriver` sees: it starts the
chip on a freshly opened link, reads the samples of one cycle, says what its noise is and
adds its own lines to the status. The link (UART or I2C, a :class:`RegisterIO`) is opened by
the driver and handed in; the device outlives reconnects, so what it keeps (the BNO055's
calibration save and its back-off) survives a link that comes and goes.

- :class:`Bno055Device`: a BNO055 over UART or I2C. No FIFO and no data-ready flag
  (``polled``): the driver keeps its reads just after the chip's update. Its status and
  calibration are read every ``status_period_s``; the calibration offsets are restored at
  start and saved once the chip is fully calibrated, retried with back-off when the save fails.
- :class:`MpuDevice`: an MPU-6050/6500/9250 over I2C or SPI, FIFO or register reads; an
  MPU-9250's magnetometer is read at its own 100 Hz and comes with the newest sample of a cycle.
"""

from __future__ import annotations

import abc
import math
import time
from collections.abc import Callable
from typing import ClassVar

from jetson_edge_imu import ak8963_registers as ak_reg
from jetson_edge_imu import bno055_registers as bno_reg
from jetson_edge_imu.backoff import Backoff
from jetson_edge_imu.bno055 import Bno055
from jetson_edge_imu.calibration import CalibrationStatus, load_offsets, save_offsets
from jetson_edge_imu.config import DriverConfig
from jetson_edge_imu.errors import CalibrationFileError, CalibrationSaveError, ImuError
from jetson_edge_imu.mpu import Mpu
from jetson_edge_imu.samples import DeviceSample
from jetson_edge_imu.sensor_specs import NOISE_BY_DEVICE, NoiseSpec
from jetson_edge_imu.transport import RegisterIO

# BNO055 fusion-mode sensor settings (data sheet table 3-7): accel 62.5 Hz, gyro 32 Hz bandwidth.
_BNO055_BANDWIDTHS = (62.5, 32.0)

# A calibration save that failed (unwritable path, full disk, read-only filesystem) is tried
# again after this back-off: the environment may be repaired while the driver runs.
CALIBRATION_RETRY_INITIAL_S = 10.0
CALIBRATION_RETRY_MAX_S = 600.0


class ImuDevice(abc.ABC):
    """One IMU protocol. ``start`` and ``read`` raise :class:`ImuError` subclasses
    (``ProtocolError``: a bad answer; ``TransportError``: the link failed)."""

    polled: ClassVar[bool] = False  # no FIFO, no data-ready: reads may return the last sample again

    def __init__(self, config: DriverConfig, *, sleep: Callable[[float], None],
                 on_warning: Callable[[str], None], clock_ns: Callable[[], int]) -> None:
        self.config = config
        self._sleep = sleep
        self._warn = on_warning
        self._clock_ns = clock_ns
        self.io: RegisterIO | None = None
        self.temperature: float | None = None
        self.calibration: CalibrationStatus | None = None

    @abc.abstractmethod
    def start(self, io: RegisterIO) -> None:
        """Probe and configure the chip on a freshly opened link."""

    @abc.abstractmethod
    def read(self, now_ns: int) -> list[DeviceSample]:
        """The samples of one read cycle (``now_ns``: the stamp clock, for status reads)."""

    @abc.abstractmethod
    def noise(self) -> tuple[NoiseSpec, tuple[float, float], float, float]:
        """(noise model, (accel, gyro) bandwidth in Hz, accel LSB in m/s^2, gyro LSB in rad/s)."""

    def poll_period_s(self) -> float:
        return 1.0 / self.config.rate_hz

    def has_heading_reference(self) -> bool:
        """Whether the orientation's yaw is referenced (to the magnetometer)."""
        return False

    def problem(self) -> str:
        """Something the status should show as WARN while nothing worse is wrong ('' if none)."""
        return ''

    def status_values(self) -> dict[str, str]:
        return {}


class Bno055Device(ImuDevice):
    polled = True

    def __init__(self, config: DriverConfig, **kwargs) -> None:
        super().__init__(config, **kwargs)
        self.sensor: Bno055 | None = None
        self.calibration_problem = ''  # why the calibration file could not be read or written
        self.calibration_saved = False
        self.calibration_save_failures = 0
        self._calibration_backoff = Backoff(initial_s=CALIBRATION_RETRY_INITIAL_S,
                                            max_s=CALIBRATION_RETRY_MAX_S)
        self._next_calibration_save_ns = 0
        self._next_status_ns = 0

    def start(self, io: RegisterIO) -> None:
        self.io = io
        sensor = Bno055(io, mode=self.config.bno055_mode, sleep=self._sleep)
        sensor.probe()
        offsets = self._load_calibration()
        sensor.configure(offsets=offsets)
        self.calibration_saved = offsets is not None
        self.sensor = sensor
        self._next_status_ns = 0

    def _load_calibration(self):
        """The saved offsets, or ``None`` (none saved yet, or a file that cannot be used: the
        chip then calibrates itself from scratch, and the status says why)."""
        path = self.config.calibration_file
        if not path:
            return None
        try:
            return load_offsets(path)
        except CalibrationFileError as exc:
            self.calibration_problem = f'{exc}; running uncalibrated until a new save'
            self._warn(self.calibration_problem)
            return None

    def read(self, now_ns: int) -> list[DeviceSample]:
        sample = self.sensor.read_sample()
        if now_ns >= self._next_status_ns:
            self._next_status_ns = now_ns + int(self.config.status_period_s * 1e9)
            self.temperature, self.calibration = self.sensor.read_status()
            self._maybe_save_calibration()
        sample.temperature = self.temperature
        return [sample]

    def _maybe_save_calibration(self) -> None:
        c = self.config
        if (not c.calibration_file or not c.calibration_autosave or self.calibration_saved
                or not self.sensor.has_fusion or self.calibration is None):
            return
        now = self._clock_ns()
        if (now < self._next_calibration_save_ns
                or not self.calibration.fully_calibrated(need_mag=c.bno055_mode.startswith('ndof'))):
            return
        try:
            self.save_calibration()
        except CalibrationSaveError as exc:
            self.calibration_save_failures += 1
            delay = self._calibration_backoff.next_delay()
            self._next_calibration_save_ns = now + int(delay * 1e9)
            self.calibration_problem = f'{exc}; retrying in {delay:.0f} s'
            self._warn(self.calibration_problem)
            return
        self._calibration_backoff.reset()
        self.calibration_problem = ''

    def save_calibration(self) -> None:
        """Read the offsets and persist them (CONFIG mode for ~30 ms)."""
        if self.sensor is None or not self.config.calibration_file:
            raise ImuError('saving calibration needs a connected BNO055 and calibration_file')
        offsets = self.sensor.read_offsets()
        save_offsets(self.config.calibration_file, offsets, device_id=self.config.port)
        self.calibration_saved = True

    def noise(self) -> tuple[NoiseSpec, tuple[float, float], float, float]:
        return (NOISE_BY_DEVICE['bno055'], _BNO055_BANDWIDTHS, 1 / bno_reg.ACCEL_LSB_PER_MS2,
                1 / bno_reg.GYRO_LSB_PER_RPS)

    def has_heading_reference(self) -> bool:
        return self.config.filter == 'device' and self.config.bno055_mode in ('ndof', 'ndof_fmc_off')

    def problem(self) -> str:
        return self.calibration_problem

    def status_values(self) -> dict[str, str]:
        values = {}
        if self.calibration is not None:
            c = self.calibration
            values['calibration'] = f'sys {c.system} gyro {c.gyro} accel {c.accel} mag {c.mag}'
        if self.config.calibration_file:
            values['calibration_file'] = (self.calibration_problem or
                                          ('saved' if self.calibration_saved else 'not saved yet'))
            values['calibration_save_failures'] = str(self.calibration_save_failures)
        return values


class MpuDevice(ImuDevice):
    def __init__(self, config: DriverConfig, **kwargs) -> None:
        super().__init__(config, **kwargs)
        self.sensor: Mpu | None = None
        self._mag_period_ns = int(1e9 / ak_reg.RATE_HZ_BY_MODE[ak_reg.CNTL1_CONTINUOUS_100HZ])
        self._next_mag_ns = 0
        self._mag_overflows_warned = 0

    def start(self, io: RegisterIO) -> None:
        c = self.config
        self.io = io
        at_address = getattr(io, 'at_address', None)  # I2C: the AK8963 on the same bus
        sensor = Mpu(io, chip='auto' if c.device_type == 'mpu' else c.device_type,
                     rate_hz=c.rate_hz, dlpf=c.dlpf, gyro_range_dps=c.gyro_range_dps,
                     accel_range_g=c.accel_range_g, use_fifo=c.use_fifo,
                     spi=c.interface == 'spi', magnetometer=c.magnetometer,
                     bypass_io=(lambda: at_address(ak_reg.I2C_ADDRESS)) if at_address else None,
                     sleep=self._sleep)
        sensor.probe()
        sensor.configure()
        self.sensor = sensor
        self._next_mag_ns = 0

    def read(self, now_ns: int) -> list[DeviceSample]:
        samples = self.sensor.read_samples()
        magnetometer = self.sensor.magnetometer
        if samples and magnetometer is not None and now_ns >= self._next_mag_ns:
            self._next_mag_ns = now_ns + self._mag_period_ns
            samples[-1].mag = self.sensor.read_magnetometer()
            if magnetometer.overflows > self._mag_overflows_warned:
                self._mag_overflows_warned = magnetometer.overflows
                self._warn(f'magnetometer overflow (AK8963 ST2.HOFL: a field beyond '
                           f'{ak_reg.RANGE_TESLA * 1e6:.0f} uT, a magnet nearby?): reading '
                           f'dropped, {magnetometer.overflows} so far')
        return samples

    def noise(self) -> tuple[NoiseSpec, tuple[float, float], float, float]:
        c = self.config
        chip = self.sensor.chip if self.sensor is not None else c.device_type
        return (NOISE_BY_DEVICE.get(chip, NOISE_BY_DEVICE['mpu6050']), self.sensor.bandwidths_hz,
                c.accel_range_g * 9.80665 / 32768, math.radians(c.gyro_range_dps) / 32768)

    def poll_period_s(self) -> float:
        if self.config.use_fifo:
            return 1.0 / min(self.config.fifo_poll_hz, self.config.rate_hz)
        return 1.0 / self.config.rate_hz

    def has_heading_reference(self) -> bool:
        return self.sensor is not None and self.sensor.magnetometer is not None

    def status_values(self) -> dict[str, str]:
        if self.sensor is None:
            return {}
        values = {'fifo_overflows': str(self.sensor.fifo_overflows)}
        magnetometer = self.sensor.magnetometer
        if magnetometer is not None:
            values['magnetometer'] = (f'AK8963 via {self.sensor.magnetometer_route}, ASA '
                                      f'{magnetometer.asa}')
            values['magnetometer_overflows'] = str(magnetometer.overflows)
        else:
            values['magnetometer'] = ('off' if self.config.magnetometer == 'off'
                                      else f'none on an {self.sensor.chip}')
        return values


_DEVICES: dict[str, type[ImuDevice]] = {'bno055': Bno055Device, 'mpu': MpuDevice,
                                        'mpu6050': MpuDevice, 'mpu6500': MpuDevice,
                                        'mpu9250': MpuDevice}


def make_device(config: DriverConfig, *, sleep: Callable[[float], None] = time.sleep,
                on_warning: Callable[[str], None] = lambda message: None,
                clock_ns: Callable[[], int] = time.monotonic_ns) -> ImuDevice:
    """The implementation of ``config.device_type``'s protocol."""
    return _DEVICES[config.device_type](config, sleep=sleep, on_warning=on_warning,
                                        clock_ns=clock_ns)
