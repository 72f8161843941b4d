"""Start-up gyro bias estimation recovers an injected bias within 10%, waits out motion and
says so, and gives up explicitly rather than hang."""

import math

from jetson_edge_imu import quaternion as quat
from jetson_edge_imu.bias import BiasState, GyroBiasEstimator, StillnessLimits
from jetson_edge_imu.config import DriverConfig
from jetson_edge_imu.driver import ImuDriver
from jetson_edge_common.diagnostics import Level
from jetson_edge_imu.motion import MotionState, TorsoMotion
from jetson_edge_imu.mpu_registers import FIFO_R_W
from jetson_edge_imu.transport import I2CRegisterIO

BIAS = (0.012, -0.02, 0.007)  # rad/s


def _within_10_percent(estimate, truth):
    return all(abs(e - t) <= 0.1 * abs(t) for e, t in zip(estimate, truth))


class MovingThenStill:
    """Walks for ``moving_s`` seconds, then freezes in the pose it reached."""

    def __init__(self, moving_s: float) -> None:
        self.walk = TorsoMotion(still_s=0.0, ramp_s=0.2)
        self.moving_s = moving_s
        self.still_s = 0.0
        end = self.walk.state(moving_s)
        g = quat.rotate(quat.conjugate(end.orientation), (0.0, 0.0, 9.80665))
        self._rest = MotionState(0.0, end.orientation, (0.0, 0.0, 0.0), g)

    def state(self, t: float) -> MotionState:
        return self.walk.state(t) if t < self.moving_s else self._rest


def _mpu_driver(emu, **overrides):
    config = DriverConfig(device_type='mpu6050', interface='i2c', i2c_address=0x68, rate_hz=200,
                          filter='madgwick', **overrides)
    warnings = []
    driver = ImuDriver(config, open_io=lambda c: I2CRegisterIO(emu.open_bus(), 0x68,
                                                                 fifo_register=FIFO_R_W),
                       sleep=lambda s: None, on_warning=warnings.append)
    return driver, warnings


def _run(driver, clock, seconds):
    out = []
    end = clock.t + seconds
    while clock.t < end:
        out += driver.step(clock.ns)
        clock.t += 0.01
    return out


def test_bias_recovered_within_10_percent_over_i2c(mpu_emulator, sim_clock):
    emu = mpu_emulator(gyro_bias=BIAS)
    driver, _ = _mpu_driver(emu)
    _run(driver, sim_clock, 1.8)  # still phase is 2 s; window 1 s
    assert driver.bias.state is BiasState.DONE
    assert _within_10_percent(driver.bias.bias, BIAS), driver.bias.bias
    # Published gyro has the bias removed: mean over the rest of the still phase is ~0.
    readings = _run(driver, sim_clock, 0.15)
    assert readings
    mean_z = sum(r.gyro[2] for r in readings) / len(readings)
    assert abs(mean_z) < 0.1 * abs(BIAS[2])


def test_bias_recovered_within_10_percent_over_the_bno055_uart(bno_rig):
    rig = bno_rig(gyro_bias=BIAS)
    driver = ImuDriver(DriverConfig(port=rig.link.path, baud=2_000_000, bno055_mode='amg',
                                    filter='madgwick', rate_hz=100), sleep=lambda s: None)
    for k in range(150):
        driver.step(k * 10_000_000)
    assert driver.bias.state is BiasState.DONE
    assert _within_10_percent(driver.bias.bias, BIAS), driver.bias.bias


def test_motion_at_start_waits_retries_and_says_so(mpu_emulator, sim_clock):
    emu = mpu_emulator(gyro_bias=BIAS, motion=MovingThenStill(3.0))
    driver, _ = _mpu_driver(emu)
    _run(driver, sim_clock, 1.5)
    level, message, values = driver.status()
    assert driver.bias.state is BiasState.COLLECTING
    assert level == Level.WARN and 'motion detected' in message and 'retry 1' in message
    published = _run(driver, sim_clock, 4.0)
    assert driver.bias.state is BiasState.DONE and driver.bias.attempts >= 3
    assert _within_10_percent(driver.bias.bias, BIAS)
    assert published and all(r.stamp_ns > 3e9 for r in published)  # nothing during the wait


def test_gives_up_after_timeout_with_zero_bias_and_a_warning(mpu_emulator, sim_clock):
    emu = mpu_emulator(gyro_bias=BIAS, motion=TorsoMotion(still_s=0.0, ramp_s=0.1))
    driver, warnings = _mpu_driver(emu, bias_timeout_s=3.0)
    published = _run(driver, sim_clock, 5.0)
    assert driver.bias.state is BiasState.GAVE_UP
    assert driver.bias.bias == (0.0, 0.0, 0.0)
    assert any('gyro bias not estimated' in w or 'timed out' in w for w in warnings)
    assert published  # the driver carries on
    level, message, _ = driver.status()
    assert level == Level.WARN and 'zero bias' in message


def test_stillness_limits_follow_the_datasheet_noise():
    limits = StillnessLimits.from_noise(0.001, 0.02, gyro_lsb=1e-4, accel_lsb=1e-3)
    assert math.isclose(limits.gyro_std, 0.003) and math.isclose(limits.accel_std, 0.06)
    est = GyroBiasEstimator(window_samples=10, limits=limits, timeout_samples=0)
    for i in range(10):  # gyro spread 0.01 rad/s: motion
        est.add((0.01 * (-1) ** i, 0.0, 0.0), (0.0, 0.0, 9.80665))
    assert est.state is BiasState.COLLECTING and 'gyro spread' in est.message
