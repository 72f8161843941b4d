"""Orientation accuracy against the emulator's known trajectory: 60 s of humanoid-torso motion
in simulated time, through the production driver chain (device protocol, bias estimation,
filter), roll and pitch within 2 degrees RMS."""

import math

import pytest

from jetson_edge_imu import quaternion as quat
from jetson_edge_imu.config import DriverConfig
from jetson_edge_imu.driver import ImuDriver
from jetson_edge_imu.filters import ComplementaryFilter, MadgwickFilter, make_filter
from jetson_edge_imu.motion import STANDARD_GRAVITY
from jetson_edge_imu.mpu_registers import FIFO_R_W
from jetson_edge_imu.transport import I2CRegisterIO

BIAS = (0.02, -0.015, 0.03)  # rad/s, ~1.1 deg/s: far beyond what the filters could absorb


def _roll_pitch_rms(errors: list[tuple[float, float]]) -> tuple[float, float]:
    n = len(errors)
    return (math.degrees(math.sqrt(sum(r * r for r, _ in errors) / n)),
            math.degrees(math.sqrt(sum(p * p for _, p in errors) / n)))


def _angle_diff(a: float, b: float) -> float:
    return (a - b + math.pi) % (2 * math.pi) - math.pi


def _run_mpu(mpu_emulator, sim_clock, *, filter_name: str, gain: float, seconds: float = 62.0,
             estimate_bias: bool = True):
    emu = mpu_emulator(gyro_bias=BIAS)
    latched: list[float] = []
    latch = emu._latch
    emu._latch = lambda t: (latched.append(t), latch(t))
    config = DriverConfig(device_type='mpu6050', interface='i2c', i2c_address=0x68, rate_hz=200,
                          dlpf=3, filter=filter_name, filter_gain=gain, bias_window_s=1.0,
                          estimate_bias=estimate_bias)
    driver = ImuDriver(config, open_io=lambda c: I2CRegisterIO(emu.open_bus(), 0x68,
                                                                 fifo_register=FIFO_R_W),
                       sleep=lambda s: None)
    readings = []
    while sim_clock.t < seconds:
        readings += driver.step(sim_clock.ns)
        sim_clock.t += 0.01
    consumed = driver.health.samples - len(readings)  # the bias window
    errors = []
    for i, r in enumerate(readings):
        truth = emu.sensor.motion.state(latched[i + consumed])
        if truth.t < emu.sensor.motion.still_s:
            continue
        er, ep, _ = quat.to_euler(r.orientation)
        tr, tp, _ = quat.to_euler(truth.orientation)
        errors.append((_angle_diff(er, tr), _angle_diff(ep, tp)))
    return driver, errors


@pytest.mark.parametrize('filter_name,gain', [('madgwick', 0.05), ('complementary', 0.5)])
def test_filter_tracks_true_roll_and_pitch_within_2_degrees_rms(mpu_emulator, sim_clock,
                                                                filter_name, gain):
    driver, errors = _run_mpu(mpu_emulator, sim_clock, filter_name=filter_name, gain=gain)
    assert len(errors) > 58 * 200
    roll_rms, pitch_rms = _roll_pitch_rms(errors)
    assert roll_rms < 2.0 and pitch_rms < 2.0, (roll_rms, pitch_rms)
    # The motion really exercises the filter: it is not a still sensor passing trivially.
    assert driver.health.saturated == 0


def test_without_bias_estimation_gyro_integration_drifts(mpu_emulator, sim_clock):
    """Control for the test above: with the start-up bias estimate switched off and no
    accelerometer correction, the injected bias alone breaks the 2 degree bound, so the
    accuracy test would catch a broken bias estimator."""
    _, errors = _run_mpu(mpu_emulator, sim_clock, filter_name='madgwick', gain=0.0,
                         estimate_bias=False)
    assert max(_roll_pitch_rms(errors)) > 10.0


def test_bno055_raw_mode_through_the_pty_tracks_truth(bno_rig):
    """The same accuracy through the real serial path: BNO055 in AMG (raw) mode over a pty,
    Madgwick on the host, one sample per request (lockstep emulator)."""
    rig = bno_rig(gyro_bias=BIAS)
    config = DriverConfig(port=rig.link.path, baud=2_000_000, bno055_mode='amg',
                          filter='madgwick', filter_gain=0.05, rate_hz=100)
    driver = ImuDriver(config, sleep=lambda s: None)
    errors = []
    for k in range(6200):
        for r in driver.step(k * 10_000_000):
            truth = rig.sensor.motion.state(rig.registers.sample_index / 100)
            if truth.t >= rig.sensor.motion.still_s:
                er, ep, _ = quat.to_euler(r.orientation)
                tr, tp, _ = quat.to_euler(truth.orientation)
                errors.append((_angle_diff(er, tr), _angle_diff(ep, tp)))
    assert len(errors) > 5800
    roll_rms, pitch_rms = _roll_pitch_rms(errors)
    assert roll_rms < 2.0 and pitch_rms < 2.0, (roll_rms, pitch_rms)


@pytest.mark.parametrize('make', [lambda: MadgwickFilter(beta=0.1),
                                  lambda: ComplementaryFilter(gain=1.0)])
def test_filters_converge_to_a_static_tilt(make):
    f = make()
    roll, pitch = math.radians(20), math.radians(-10)
    q_true = quat.from_euler(roll, pitch, 0.3)
    accel = quat.rotate(quat.conjugate(q_true), (0.0, 0.0, STANDARD_GRAVITY))
    f.update((0.0, 0.0, 0.0), (0.0, 0.0, STANDARD_GRAVITY), 0.01)  # start level: wrong
    for _ in range(3000):
        q = f.update((0.0, 0.0, 0.0), accel, 0.01)
    assert math.degrees(quat.tilt_error(q, q_true)) < 0.2


def test_accel_gate_ignores_a_shock():
    f = MadgwickFilter(beta=0.5)
    level = (0.0, 0.0, STANDARD_GRAVITY)
    f.update((0.0, 0.0, 0.0), level, 0.01)
    for _ in range(10):  # a 3 g sideways shock must not tilt the estimate
        q = f.update((0.0, 0.0, 0.0), (3 * STANDARD_GRAVITY, 0.0, STANDARD_GRAVITY), 0.01)
    assert math.degrees(quat.tilt_error(q, quat.IDENTITY)) < 1e-6


@pytest.mark.parametrize('name', ['madgwick', 'complementary'])
def test_every_filter_takes_its_gain_under_one_name(name):
    f = make_filter(name, gain=0.1)
    f.gain = 0.7
    assert f.gain == 0.7
    if name == 'madgwick':
        assert f.beta == 0.7  # the step reads beta: the new gain is the one in use
