"""Driver behaviour beyond the happy path: reconnect with back-off after serial disconnects and
I2C errors, stuck sensors, implausible samples, monotonic stamps, the mounting rotation."""

import math
import threading

import pytest

from jetson_edge_imu import quaternion as quat
from jetson_edge_imu.backoff import Backoff
from jetson_edge_imu.config import DriverConfig
from jetson_edge_imu.driver import ImuDriver
from jetson_edge_imu.errors import ConfigError
from jetson_edge_common.diagnostics import Level
from jetson_edge_imu.health import HealthMonitor
from jetson_edge_imu.motion import STANDARD_GRAVITY
from jetson_edge_imu.mounting import Mounting
from jetson_edge_imu.mpu_registers import FIFO_R_W
from jetson_edge_imu.samples import DeviceSample
from jetson_edge_imu.stamping import Stamper
from jetson_edge_imu.transport import I2CRegisterIO


def _mpu_driver(emu, **overrides):
    config = DriverConfig(device_type='mpu6050', interface='i2c', i2c_address=0x68, rate_hz=200,
                          filter='madgwick', **overrides)
    return ImuDriver(config, open_io=lambda c: I2CRegisterIO(emu.open_bus(), 0x68,
                                                                 fifo_register=FIFO_R_W),
                     sleep=lambda s: None)


def _run(driver, clock, seconds, dt=0.01):
    out = []
    end = clock.t + seconds
    while clock.t < end - 1e-9:
        out += driver.step(clock.ns)
        clock.t += dt
    return out


def test_serial_disconnect_reconnects_through_the_symlink(bno_rig, tmp_path):
    link_path = tmp_path / 'imu.pty'
    rig = bno_rig(link_path=link_path)
    config = DriverConfig(port=str(link_path), baud=2_000_000, bno055_mode='ndof',
                          filter='device', rate_hz=100, reconnect_initial_s=0.05)
    driver = ImuDriver(config, sleep=lambda s: None)
    before = [r for k in range(20) for r in driver.step(k * 10_000_000)]
    assert before and driver.connected
    rig.close()  # the USB adapter is pulled
    t = 20
    while driver.connected and t < 40:
        driver.step(t * 10_000_000)
        t += 1
    assert not driver.connected and driver.health.disconnects == 1
    assert driver.status()[0] == Level.ERROR
    rig2 = bno_rig(link_path=link_path)  # plugged back in: a new /dev/pts behind the same link
    after = [r for k in range(t, t + 100) for r in driver.step(k * 10_000_000)]
    assert after and driver.connected and driver.health.reconnects == 1
    assert after[0].stamp_ns > before[-1].stamp_ns


def test_i2c_errors_reconnect_with_exponential_backoff(mpu_emulator, sim_clock):
    emu = mpu_emulator()
    driver = _mpu_driver(emu, estimate_bias=False, reconnect_initial_s=0.1, reconnect_max_s=0.4)
    _run(driver, sim_clock, 0.5)
    assert driver.connected
    emu.fail_next = 10**9  # the bus goes away
    attempts = []
    while sim_clock.t < 3.0:
        before = driver.backoff.attempts
        driver.step(sim_clock.ns)
        if driver.backoff.attempts != before:
            attempts.append(round(sim_clock.t, 2))
        sim_clock.t += 0.01
    gaps = [round(b - a, 2) for a, b in zip(attempts, attempts[1:])]
    assert gaps[:3] == [0.1, 0.2, 0.4] and set(gaps[3:]) == {0.4}  # doubling, capped
    emu.fail_next = 0
    _run(driver, sim_clock, 0.6)
    assert driver.connected and driver.health.reconnects == 1 and driver.backoff.attempts == 0
    assert int(driver.status()[2]['io_errors']) >= 1


def test_stuck_sensor_is_an_error_and_stops_publishing(mpu_emulator, sim_clock):
    emu = mpu_emulator()
    driver = _mpu_driver(emu, estimate_bias=False, stuck_after_s=0.2)
    assert _run(driver, sim_clock, 0.5)
    emu.stuck = True
    published = _run(driver, sim_clock, 0.5)
    level, message, _ = driver.status()
    assert level == Level.ERROR and 'stuck' in message
    assert len(published) < 0.25 * 200  # stops within the detection window
    emu.stuck = False
    assert len(_run(driver, sim_clock, 0.2)) > 30
    assert driver.status()[0] != Level.ERROR


def test_implausible_samples_are_dropped_and_counted():
    h = HealthMonitor(stuck_after=100)
    ok = DeviceSample((0.0, 0.0, 9.8), (0.0, 0.0, 0.0), b'a')
    assert h.check(ok)
    assert not h.check(DeviceSample((float('nan'), 0.0, 9.8), (0.0, 0.0, 0.0), b'b'))
    assert not h.check(DeviceSample((0.0, 0.0, 9.8), (0.0, 0.0, 0.0), b'c',
                                    orientation=(0.5, 0.0, 0.0, 0.0)))
    assert not h.check(DeviceSample((0.0, 0.0, 9.8), (0.0, 0.0, 0.0), b'd', temperature=200.0))
    assert h.check(DeviceSample((0.0, 0.0, 9.8), (0.0, 0.0, 0.0), b'e', saturated=True))
    assert h.implausible == 3 and h.saturated == 1
    h.link_up()
    assert h.summary()[0] == Level.WARN


def test_stamps_strictly_increase_and_step_back_for_fifo_batches():
    s = Stamper(period_ns=5_000_000)
    batch = [s.stamp(1_000_000_000, delay_ns=100_000, samples_before=n) for n in (2, 1, 0)]
    assert batch == [989_900_000, 994_900_000, 999_900_000]
    assert s.stamp(999_000_000) == 999_900_001  # host clock stepped back: still increasing
    assert s.stamp(999_900_001) == 999_900_002  # a duplicate stamp is never emitted
    assert s.adjusted == 2


def test_published_stamps_are_corrected_for_transport_delay(mpu_emulator, sim_clock):
    emu = mpu_emulator()
    driver = _mpu_driver(emu, estimate_bias=False)
    readings = _run(driver, sim_clock, 1.0)
    stamps = [r.stamp_ns for r in readings]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    intervals = {b - a for a, b in zip(stamps, stamps[1:])}
    assert 5_000_000 in intervals  # FIFO samples spaced at the sample period
    assert readings[-1].stamp_ns < sim_clock.ns - 10_000_000  # never stamped in the future


def test_mounting_rotation_puts_data_in_the_body_frame(mpu_emulator, sim_clock):
    """The sensor is mounted upside down and turned 90 deg; mount_rpy undoes it."""
    rpy = (math.pi, 0.0, math.pi / 2)
    emu = mpu_emulator(mount=quat.from_euler(*rpy))
    driver = _mpu_driver(emu, mount_rpy=rpy, bias_window_s=0.5)
    readings = _run(driver, sim_clock, 1.5)  # still phase
    r = readings[-1]
    assert abs(r.accel[2] - STANDARD_GRAVITY) < 0.15 and abs(r.accel[0]) < 0.15
    assert math.degrees(quat.tilt_error(r.orientation, quat.IDENTITY)) < 1.0
    latched = []
    latch = emu._latch
    emu._latch = lambda t: (latched.append(t), latch(t))
    readings = _run(driver, sim_clock, 3.0)
    worst = max(abs(a - b) for r, t in zip(readings, latched)
                for a, b in zip(r.gyro, emu.sensor.motion.state(t).angular_velocity))
    assert worst < 0.01  # rad/s: noise only, no axis mix-up
    assert max(abs(v) for r in readings for v in r.gyro) > 0.1  # and it was moving


def test_covariance_comes_from_datasheet_noise_and_is_rotated(mpu_emulator, sim_clock):
    emu = mpu_emulator()
    driver = _mpu_driver(emu, dlpf=3, mount_rpy=(0.0, 0.0, math.pi / 2))
    _run(driver, sim_clock, 0.05)
    sigma = 0.005 * math.pi / 180 * math.sqrt(42)  # MPU-6050 density, DLPF 3 gyro bandwidth
    lsb = math.radians(2000) / 32768
    assert math.isclose(driver.gyro_covariance[0], sigma ** 2 + lsb ** 2 / 12, rel_tol=1e-6)
    m = Mounting((0.3, 0.0, 0.0))
    cov = m.covariance((1.0, 2.0, 3.0))
    assert math.isclose(cov[4], math.cos(0.3) ** 2 * 2 + math.sin(0.3) ** 2 * 3)
    assert math.isclose(cov[5], cov[7])


def test_backoff_doubles_up_to_the_cap():
    b = Backoff(initial_s=0.1, max_s=1.0)
    assert [b.next_delay() for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    b.reset()
    assert b.next_delay() == 0.1


@pytest.mark.parametrize('kwargs,match', [
    ({'device_type': 'mpu6050', 'interface': 'uart'}, 'no UART protocol'),
    ({'filter': 'device', 'bno055_mode': 'amg'}, 'fusion mode'),
    ({'device_type': 'mpu9250', 'interface': 'i2c', 'filter': 'device'}, 'no on-chip fusion'),
    ({'device_type': 'lsm6'}, 'device_type'),
])
def test_bad_configuration_is_refused_with_the_reason(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        DriverConfig(**kwargs).validate()


def test_run_loop_paces_and_stops(mpu_emulator):
    import time
    t0 = time.monotonic()
    from jetson_edge_sim.imu.mpu_emulator import MpuEmulator
    emu = mpu_emulator()
    emu._clock = lambda: time.monotonic() - t0
    driver = _mpu_driver(emu, estimate_bias=False)
    got = []
    stop = threading.Event()
    th = threading.Thread(target=driver.run, args=(stop, got.append))
    th.start()
    deadline = time.monotonic() + 30.0  # generous: waits for samples, never for time passing
    while len(got) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    th.join(5)
    elapsed = time.monotonic() - t0
    assert not th.is_alive() and not driver.connected
    assert len(got) >= 40
    assert len(got) <= 200 * elapsed * 1.2 + 5  # paced: never faster than the device's ~200 Hz
    assert isinstance(emu, MpuEmulator)


def test_stamps_match_when_the_device_took_each_sample(mpu_emulator, sim_clock):
    """Stamps against the emulator's own sample times: centred on them (the newest sample of a
    read is on average half a period old), not shifted by the bus time of the answer."""
    emu = mpu_emulator()
    taken = []
    latch = emu._latch
    emu._latch = lambda t: (taken.append(t), latch(t))
    driver = _mpu_driver(emu, estimate_bias=False)
    readings = _run(driver, sim_clock, 2.0, dt=0.0123)
    taken_ns = [int(round(t * 1e9)) for t in taken]
    errors = []
    for r in readings[50:]:
        nearest = min(taken_ns, key=lambda t: abs(t - r.stamp_ns))
        errors.append(r.stamp_ns - nearest)
    period = driver.period_ns
    assert all(abs(e) <= period // 2 + 100_000 for e in errors)
    assert abs(sum(errors) / len(errors)) < 0.1 * period


def _stop_answering(rig) -> None:
    rig.stop.set()
    rig.thread.join(2)


def _answer_again(rig) -> None:
    rig.stop.clear()
    rig.thread = threading.Thread(target=rig.server.serve, args=(rig.stop,), daemon=True)
    rig.thread.start()


@pytest.mark.parametrize('periods', [10, 3])
def test_a_device_that_stops_answering_is_an_error_within_the_staleness_bound(bno_rig, periods):
    """The bound is counted in input periods on the driver's injected clock: OK just inside
    it, ERROR just past it (100 ms at 100 Hz by default), OK again once samples return."""
    rig = bno_rig()
    now = [0]
    config = DriverConfig(port=rig.link.path, baud=2_000_000, bno055_mode='ndof',
                          filter='device', rate_hz=100, stale_after_periods=periods)
    driver = ImuDriver(config, sleep=lambda s: None, clock_ns=lambda: now[0])

    def step(n):
        out = []
        for _ in range(n):
            out += driver.step(now[0])
            now[0] += 10_000_000
        return out

    assert step(20) and driver.status()[0] == Level.OK
    _stop_answering(rig)  # frozen: every read times out, no sample arrives
    step(periods - 1)
    assert driver.connected and driver.status()[0] == Level.OK, driver.status()
    step(2)
    level, message, values = driver.status()
    assert driver.connected  # the link is not yet given up: only staleness can tell
    assert level == Level.ERROR
    assert message.startswith('no sample from the device for ')
    assert f'bound: {periods} input periods = {periods * 10} ms' in message
    assert float(values['input_age_ms']) > periods * 10
    _answer_again(rig)
    assert step(5)
    assert driver.status()[0] == Level.OK


def test_the_staleness_bound_follows_a_fifo_polled_slower_than_the_sample_rate(mpu_emulator):
    emu = mpu_emulator()
    driver = _mpu_driver(emu, estimate_bias=False, fifo_poll_hz=50)
    assert driver.stale_after_ns == 10 * 20_000_000  # ten polls, not ten 5 ms samples
