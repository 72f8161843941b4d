"""The driver core: connect to the device, read, check, correct, filter, stamp.

What is particular to one IMU protocol (starting the chip, reading it, its noise, the BNO055's
calibration keeping) is behind :class:`~jetson_edge_imu.devices.ImuDevice`; the driver owns the
link and its back-off, the processing chain and the read schedule.

``ImuDriver.step(now_ns)`` does one read cycle and returns the readings to publish; it never
raises for IO trouble: a protocol error drops the sample (counted), a transport failure closes
the link and schedules a reconnect with exponential back-off. It takes the current time from its
caller, so it runs the same against real time (the node's reader thread) and simulated time
(tests). ``run`` is the paced loop the node's thread uses.

A BNO055 has no FIFO and no data-ready flag: its data registers change at its output data rate on
its own clock, and a read returns whatever they hold. A read that returns exactly the previous
contents (noise makes two real samples differ) is not published again. ``run`` keeps its reads
just after the device's update: each read is planned a little less than a period after the last
(the schedule creeps earlier), until one comes just before the update and repeats the previous
sample; that read is retried an eighth of a period later, which also moves the schedule to just
after the update. A request held up on its way (a busy kernel worker, a late wake-up) then has
nearly a whole period before it would reach the next sample and lose its own.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from jetson_edge_common.diagnostics import Level
from jetson_edge_imu import mpu_registers as mpu_reg
from jetson_edge_imu.backoff import Backoff
from jetson_edge_imu.bias import BiasState, GyroBiasEstimator, StillnessLimits
from jetson_edge_imu.bno055_uart import Bno055UartIO
from jetson_edge_imu.config import DriverConfig
from jetson_edge_imu.devices import ImuDevice, make_device
from jetson_edge_imu.errors import ImuError, ProtocolError, TransportError
from jetson_edge_imu.filters import OrientationFilter, make_filter
from jetson_edge_imu.health import HealthMonitor
from jetson_edge_imu.mounting import Mounting
from jetson_edge_imu.samples import DeviceSample, ImuReading
from jetson_edge_imu.stamping import Stamper
from jetson_edge_imu.transport import (I2CRegisterIO, RegisterIO, SpiRegisterIO, open_serial,
                                       open_smbus, open_spi)


def open_register_io(config: DriverConfig, *,
                     on_error: Callable[[str], None] | None = None) -> RegisterIO:
    """The production IO: a serial port for the BNO055 UART, ``/dev/spidevB.C`` for SPI,
    ``/dev/i2c-N`` otherwise."""
    if config.interface == 'uart':
        timeout = max(0.02, 3 * (6 + 128) * 10 / config.baud)
        port = open_serial(config.port, config.baud, timeout_s=timeout)
        return Bno055UartIO(port, baud=config.baud, on_error=on_error)
    if config.interface == 'spi':
        spi = open_spi(config.spi_bus, config.spi_chip_select, backend=config.spi_backend)
        return SpiRegisterIO(spi, config_hz=config.spi_config_hz, read_hz=config.spi_read_hz,
                             name=f'spidev{config.spi_bus}.{config.spi_chip_select}')
    fifo = mpu_reg.FIFO_R_W if config.device_type.startswith('mpu') else None
    return I2CRegisterIO(open_smbus(config.i2c_bus), config.i2c_address,
                         bus_hz=config.i2c_bus_hz, fifo_register=fifo)


# A polled device's schedule (see ``ImuDriver.run``), as divisors of the period: the step of a
# retry after a repeated sample, and how much earlier each read is planned while searching for
# the device's update and once it was found.
PHASE_RETRY_DIVISOR = 8
PHASE_SEARCH_DIVISOR = 16
PHASE_CREEP_DIVISOR = 1024


class ImuDriver:
    """One device, its link state and its processing chain. Not thread-safe: one thread owns it
    (``run``); others may read ``status()``, which only reads counters."""

    def __init__(
        self,
        config: DriverConfig,
        *,
        open_io: Callable[[DriverConfig], RegisterIO] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_warning: Callable[[str], None] | None = None,
        clock_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        """``clock_ns`` is the monotonic clock of staleness and retry schedules (``step``'s
        ``now_ns`` is the stamp clock, which may be the ROS clock)."""
        self.config = config.validate()
        self._warn = on_warning or (lambda message: None)
        self._open_io = open_io or (lambda c: open_register_io(c, on_error=self._warn))
        self._sleep = sleep
        self.mounting = Mounting(config.mount_rpy)
        self.period_ns = int(1e9 / config.rate_hz)
        self.stamper = Stamper(period_ns=self.period_ns,
                               fixed_latency_ns=int(config.fixed_latency_s * 1e9))
        self.health = HealthMonitor(stuck_after=max(3, int(config.stuck_after_s * config.rate_hz)))
        self.backoff = Backoff(initial_s=config.reconnect_initial_s, max_s=config.reconnect_max_s)
        self._clock_ns = clock_ns
        self.device: ImuDevice = make_device(config, sleep=sleep, on_warning=self._warn,
                                             clock_ns=clock_ns)
        # The bound is in input periods: a FIFO polled slower than the sample rate delivers
        # its samples in batches, one batch per poll.
        self.stale_after_ns = config.stale_after_periods * max(
            self.period_ns, int(self.poll_period_s() * 1e9))
        self._last_input_ns: int | None = None
        self.filter: OrientationFilter | None = (make_filter(config.filter, gain=config.filter_gain)
                       if config.uses_host_filter else None)
        self.bias: GyroBiasEstimator | None = None
        self.io: RegisterIO | None = None
        self.frame_errors = 0
        self._consecutive_frame_errors = 0
        self._next_connect_ns = 0
        self._last_stamp_ns: int | None = None
        self.accel_covariance: list[float] = [0.0] * 9
        self.gyro_covariance: list[float] = [0.0] * 9
        self.orientation_covariance: list[float] = [0.0] * 9
        self.connect_message = 'not connected yet'
        self.overruns = 0
        self.repeated_reads = 0  # polled reads that returned the previous sample again
        self.phase_shifts = 0  # retries that moved the schedule onto the device's update
        self.last_read_repeated = False
        self._linked = False

    # -- link ------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._linked

    def connect(self, now_ns: int) -> bool:
        c = self.config
        try:
            self.io = self._open_io(c)
            self.device.start(self.io)
        except ImuError as exc:
            self._drop_link(now_ns, f'connect failed: {exc}')
            return False
        self._linked = True
        self._setup_noise()
        self.backoff.reset()
        self._consecutive_frame_errors = 0
        self.health.link_up()
        self._last_input_ns = self._clock_ns()
        self.connect_message = f'connected to {c.device_type} over {c.interface}'
        return True

    def _setup_noise(self) -> None:
        noise, bandwidths, accel_lsb, gyro_lsb = self.device.noise()
        sa, sg = noise.accel_sigma(bandwidths[0]), noise.gyro_sigma(bandwidths[1])
        # Quantization adds LSB^2/12 to the white noise variance.
        va = sa * sa + accel_lsb * accel_lsb / 12
        vg = sg * sg + gyro_lsb * gyro_lsb / 12
        self.accel_covariance = self.mounting.covariance((va, va, va))
        self.gyro_covariance = self.mounting.covariance((vg, vg, vg))
        vo = self.config.orientation_stddev ** 2
        self.orientation_covariance = self.mounting.covariance(
            (vo, vo, vo if self.device.has_heading_reference() else math.pi ** 2))
        if self.config.estimate_bias and self.bias is None and not (
                self.config.filter == 'device'):
            rate = self.config.rate_hz
            self.bias = GyroBiasEstimator(
                window_samples=max(10, int(self.config.bias_window_s * rate)),
                limits=StillnessLimits.from_noise(sg, sa, gyro_lsb=gyro_lsb, accel_lsb=accel_lsb),
                timeout_samples=int(self.config.bias_timeout_s * rate))

    def _drop_link(self, now_ns: int, message: str) -> None:
        self.health.link_down(message)
        self.connect_message = message
        if self.io is not None:
            try:
                self.io.close()
            except Exception:  # closing a dead port may fail again; the link is gone anyway
                pass
        self.io = None
        self._linked = False
        delay = self.backoff.next_delay()
        self._next_connect_ns = now_ns + int(delay * 1e9)
        self._warn(f'IMU link down ({message}); reconnecting in {delay:.2f} s')

    def close(self) -> None:
        if self.io is not None:
            self.io.close()
        self.io = None
        self._linked = False

    # -- reading ---------------------------------------------------------------------------
    def step(self, now_ns: int) -> list[ImuReading]:
        """One read cycle at time ``now_ns`` (the receive time used for stamps)."""
        if not self._linked:
            if now_ns >= self._next_connect_ns:
                self.connect(now_ns)
            return []
        try:
            samples = self.device.read(now_ns)
            request_s = self.io.request_time_s()
        except ProtocolError as exc:
            self.frame_errors += 1
            self._consecutive_frame_errors += 1
            self.health.link_error(str(exc))
            if self._consecutive_frame_errors >= self.config.max_consecutive_frame_errors:
                self._drop_link(now_ns, f'{self._consecutive_frame_errors} protocol errors in a '
                                f'row: {exc}')
            return []
        except TransportError as exc:
            self.health.link_error(str(exc))
            self._drop_link(now_ns, str(exc))
            return []
        self._consecutive_frame_errors = 0
        if samples:
            self._last_input_ns = self._clock_ns()
        # now_ns was taken before the request went out: the device latched the answer once the
        # request arrived, and the newest sample was then on average half a period old (half
        # a retry step once the schedule sits just after the device's updates).
        polled = self.device.polled
        age_ns = (self.period_ns // PHASE_RETRY_DIVISOR // 2 if polled and self.phase_shifts
                  else self.period_ns // 2)
        delay_ns = age_ns - int(request_s * 1e9)
        self.last_read_repeated = False
        out = []
        for s in samples:
            reading = self._process(s, now_ns, delay_ns, polled)
            if reading is not None:
                out.append(reading)
        self.health.published += len(out)
        return out

    def _process(self, s: DeviceSample, now_ns: int, delay_ns: int,
                 polled: bool) -> ImuReading | None:
        if not self.health.check(s):
            return None
        if polled and self.health.identical_run:
            # The registers have not been updated since the last read: the same sample.
            self.repeated_reads += 1
            self.last_read_repeated = True
            return None
        stamp = self.stamper.stamp(now_ns, delay_ns=delay_ns, samples_before=s.samples_before)
        gyro = s.gyro
        bias = self.bias
        if bias is not None:
            if bias.state is BiasState.COLLECTING:
                if bias.add(gyro, s.accel) and bias.state is BiasState.GAVE_UP:
                    self._warn(bias.message)
                self._last_stamp_ns = stamp
                return None
            b = bias.bias
            gyro = (gyro[0] - b[0], gyro[1] - b[1], gyro[2] - b[2])
        orientation = None
        if self.filter is not None:
            dt = self._dt(stamp)
            orientation = self.mounting.orientation(
                self.filter.update(gyro, s.accel, dt, mag=s.mag))
        elif s.orientation is not None:
            orientation = self.mounting.orientation(s.orientation)
        self._last_stamp_ns = stamp
        return ImuReading(stamp, self.mounting.vector(s.accel), self.mounting.vector(gyro),
                          orientation, s.temperature,
                          self.mounting.vector(s.mag) if s.mag is not None else None)

    def _dt(self, stamp: int) -> float:
        nominal = self.period_ns * 1e-9
        if self._last_stamp_ns is None:
            return nominal
        dt = (stamp - self._last_stamp_ns) * 1e-9
        return min(max(dt, 0.25 * nominal), 4 * nominal)

    # -- status ----------------------------------------------------------------------------
    def input_age_ns(self) -> int | None:
        """How long since the device last delivered a sample (or the link came up); ``None``
        while there is no link."""
        if not self._linked or self._last_input_ns is None:
            return None
        return self._clock_ns() - self._last_input_ns

    def status(self) -> tuple[Level, str, dict[str, str]]:
        level, message = self.health.summary()
        age = self.input_age_ns()
        if age is not None and age > self.stale_after_ns and level < Level.ERROR:
            level, message = Level.ERROR, (
                f'no sample from the device for {age / 1e6:.0f} ms (bound: '
                f'{self.config.stale_after_periods} input periods = '
                f'{self.stale_after_ns / 1e6:.0f} ms)')
        problem = self.device.problem()
        if problem and level == Level.OK:
            level, message = Level.WARN, problem
        values = {k: str(v) for k, v in self.health.values().items()}
        values['frame_errors'] = str(self.frame_errors)
        if self.device.polled:
            values['repeated_reads'] = str(self.repeated_reads)
            values['phase_shifts'] = str(self.phase_shifts)
        values['stamps_adjusted'] = str(self.stamper.adjusted)
        values['link'] = self.connect_message
        stats = getattr(self.io, 'stats', None)
        if stats is not None:
            values.update({f'uart_{k}': str(v) for k, v in stats.as_dict().items()})
        values.update(self.device.status_values())
        if self.bias is not None:
            values['gyro_bias'] = self.bias.message
            if self.bias.state is BiasState.COLLECTING and level == Level.OK:
                level, message = Level.WARN, self.bias.message
            elif self.bias.state is BiasState.GAVE_UP and level == Level.OK:
                level, message = Level.WARN, self.bias.message
        if age is not None:
            values['input_age_ms'] = f'{age / 1e6:.1f}'
        if self.device.temperature is not None:
            values['temperature_c'] = f'{self.device.temperature:.1f}'
        return level, message, values

    # -- the paced loop --------------------------------------------------------------------
    def poll_period_s(self) -> float:
        return self.device.poll_period_s()

    def run(self, stop: threading.Event, publish: Callable[[ImuReading], None], *,
            clock_ns: Callable[[], int] = time.monotonic_ns,
            stamp_clock_ns: Callable[[], int] | None = None) -> None:
        """Read at the poll period until ``stop`` is set. Deadlines are absolute, so a late
        cycle does not shift the ones after it; a cycle later than a whole period skips the
        periods it missed (keeping the phase). For a polled device the schedule tracks the
        update (see the module docstring): it creeps earlier by ``period / 1024`` per read
        (``period / 16`` until the first repeat, to find the update quickly), and a repeated
        sample is read again ``period / 8`` later. Not so when the read before may have
        reached the device much later than this one (its thread woke late, or its exchange
        took well over the usual time: a request held up in the kernel): then that late read
        took this sample early, and the phase is not at fault.
        ``stamp_clock_ns`` is the clock stamps are taken on (the ROS clock in the node)."""
        stamp_clock_ns = stamp_clock_ns or clock_ns
        period = int(self.poll_period_s() * 1e9)
        retry = period // PHASE_RETRY_DIVISOR
        deadline = clock_ns()
        usual_exchange: int | None = None
        previous_latest = 0
        try:
            while not stop.is_set():
                started = clock_ns()
                late = started - deadline
                readings = self.step(stamp_clock_ns())
                exchange = clock_ns() - started
                for reading in readings:
                    publish(reading)
                if not self._linked:
                    stop.wait(0.01)
                    deadline = clock_ns()
                    usual_exchange = None
                    continue
                # How long an exchange usually takes (a slow moving average), and how much
                # later than its deadline this read may have reached the device.
                if usual_exchange is None:
                    usual_exchange = exchange
                usual_exchange += (exchange - usual_exchange) >> 6
                latest = late + max(0, exchange - usual_exchange)
                if self.last_read_repeated and previous_latest - late < period // 2:
                    # Just before the update: read again shortly, and keep that phase.
                    deadline += retry
                    self.phase_shifts += 1
                elif self.device.polled:
                    deadline += period - period // (PHASE_CREEP_DIVISOR if self.phase_shifts
                                                    else PHASE_SEARCH_DIVISOR)
                else:
                    deadline += period
                previous_latest = latest
                now = clock_ns()
                if now >= deadline:
                    if now - deadline > period:
                        self.overruns += 1
                        deadline += (now - deadline) // period * period
                    continue
                self._sleep((deadline - now) * 1e-9)
        finally:
            self.close()
