"""The balance controller's output on known IMU inputs, and its watchdog."""
import math

import numpy as np
import pytest

from jetson_edge_rt.buffers import LatestValue
from jetson_edge_rt.controllers.balance import BalanceController
from jetson_edge_rt.errors import ConfigError
from jetson_edge_rt.inputs import ImuSample
from jetson_edge_common.diagnostics import Level

MS = 1_000_000
JOINTS = ['hip_roll', 'ankle_roll', 'ankle_pitch']


def _controller(**params):
    imu = LatestValue()
    c = BalanceController()
    base = dict(joint_names=JOINTS, roll_mixing=[0.5, 1.0, 0.0], pitch_mixing=[0.0, 0.0, 1.0],
                nominal_positions=[0.0, 0.0, 0.1], kp_roll=2.0, kd_roll=0.1, kp_pitch=3.0, kd_pitch=0.2,
                command_limit=0.5, imu_timeout_s=0.05, max_tilt=0.6)
    base.update(params)
    c.configure(base, {'imu': imu})
    c.activate(0)
    return c, imu


def _sample(roll=0.0, pitch=0.0, wx=0.0, wy=0.0, t=0, valid=True):
    # roll then pitch, no yaw: q = q_pitch * q_roll (ZYX with yaw 0)
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    return ImuSample(sr * cp, cr * sp, -sr * sp, cr * cp, wx, wy, 0.0, t, valid)


def test_level_and_still_gives_the_nominal_posture():
    c, imu = _controller()
    imu.write_from_non_rt(_sample(t=0))
    cmd = np.full(3, 9.0)
    assert c.update(1 * MS, 2 * MS, cmd) is Level.OK
    assert cmd.tolist() == pytest.approx([0.0, 0.0, 0.1])


def test_pd_on_roll_and_pitch():
    c, imu = _controller()
    imu.write_from_non_rt(_sample(roll=0.1, pitch=-0.05, wx=0.2, wy=-0.4, t=0))
    cmd = np.zeros(3)
    assert c.update(1 * MS, 2 * MS, cmd) is Level.OK
    u_roll = -(2.0 * 0.1 + 0.1 * 0.2)        # -0.22
    u_pitch = -(3.0 * -0.05 + 0.2 * -0.4)    # +0.23
    assert cmd.tolist() == pytest.approx([0.5 * u_roll, u_roll, 0.1 + u_pitch])


def test_targets_shift_the_setpoint():
    c, imu = _controller(roll_target=0.1)
    imu.write_from_non_rt(_sample(roll=0.1))
    cmd = np.zeros(3)
    c.update(1 * MS, 2 * MS, cmd)
    assert cmd.tolist() == pytest.approx([0.0, 0.0, 0.1])


def test_commands_are_clipped_to_the_limit():
    c, imu = _controller(kp_roll=50.0)
    imu.write_from_non_rt(_sample(roll=0.3))
    cmd = np.zeros(3)
    c.update(1 * MS, 2 * MS, cmd)
    assert cmd.tolist() == pytest.approx([-0.5, -0.5, 0.1])


def test_no_imu_yet_is_safe_and_error():
    c, _ = _controller()
    cmd = np.full(3, 9.0)
    assert c.update(1 * MS, 2 * MS, cmd) is Level.ERROR
    assert cmd.tolist() == pytest.approx([0.0, 0.0, 0.1])
    level, message, values = c.status()
    assert level is Level.ERROR and 'no IMU sample' in message and values['state'] == 'no_imu'


def test_watchdog_trips_on_stale_imu_and_recovers():
    c, imu = _controller()
    imu.write_from_non_rt(_sample(roll=0.1, t=0))
    cmd = np.zeros(3)
    assert c.update(50 * MS, 2 * MS, cmd) is Level.OK  # exactly at the limit: still fresh
    assert c.update(51 * MS, 2 * MS, cmd) is Level.ERROR
    assert cmd.tolist() == pytest.approx([0.0, 0.0, 0.1])
    level, message, values = c.status()
    assert level is Level.ERROR
    assert 'IMU data 51 ms old (limit 50 ms)' in message
    assert values['watchdog_trips'] == '1'
    assert c.update(60 * MS, 2 * MS, cmd) is Level.ERROR
    assert values['watchdog_trips'] == c.status()[2]['watchdog_trips']  # one trip per episode
    imu.write_from_non_rt(_sample(roll=0.1, t=59 * MS))
    assert c.update(61 * MS, 2 * MS, cmd) is Level.OK
    assert cmd[1] == pytest.approx(-0.2)
    assert c.status()[0] is Level.OK


def test_invalid_orientation_is_safe_and_error():
    c, imu = _controller()
    imu.write_from_non_rt(_sample(roll=0.2, valid=False))
    cmd = np.zeros(3)
    assert c.update(1 * MS, 2 * MS, cmd) is Level.ERROR
    assert cmd.tolist() == pytest.approx([0.0, 0.0, 0.1])
    assert 'REP 145' in c.status()[1]


def test_tilt_beyond_the_limit_stops_control():
    c, imu = _controller()
    imu.write_from_non_rt(_sample(pitch=0.7))
    cmd = np.zeros(3)
    assert c.update(1 * MS, 2 * MS, cmd) is Level.ERROR
    assert cmd.tolist() == pytest.approx([0.0, 0.0, 0.1])
    assert 'pitch 40 deg beyond 34 deg' in c.status()[1]


def test_update_writes_in_place():
    c, imu = _controller()
    imu.write_from_non_rt(_sample(roll=0.1))
    cmd = np.zeros(3)
    address = cmd.ctypes.data
    c.update(1 * MS, 2 * MS, cmd)
    assert cmd.ctypes.data == address and cmd[0] != 0.0


@pytest.mark.parametrize('params, match', [
    (dict(bogus=1), 'unknown parameters'),
    (dict(roll_mixing=[1.0]), 'roll_mixing needs 3'),
    (dict(joint_names=['a', 'a', 'b']), 'unique'),
    (dict(kp_roll=-1.0), 'kp_roll=-1.0 outside'),
    (dict(nominal_positions=[0.0, 0.0, 0.9]), 'exceed command_limit'),
    (dict(pitch_mixing=[0.0, math.nan, 0.0]), 'finite'),
])
def test_configuration_errors_name_the_parameter(params, match):
    with pytest.raises(ConfigError, match=match):
        _controller(**params)


def test_configure_requires_the_imu_input():
    with pytest.raises(ConfigError, match="'imu' input"):
        BalanceController().configure({}, {})


def test_defaults_configure_a_six_joint_controller():
    c = BalanceController()
    c.configure({}, {'imu': LatestValue()})
    assert len(c.command_names) == 6
