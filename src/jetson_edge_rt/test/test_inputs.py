import math

import pytest
from sensor_msgs.msg import Imu

from jetson_edge_rt.inputs import imu_sample_from_msg, roll_pitch_from_quaternion


def _quat(roll, pitch, yaw=0.0):
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return (sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy, cr * cp * cy + sr * sp * sy)


@pytest.mark.parametrize('roll, pitch, yaw', [(0.1, 0.0, 0.0), (0.0, -0.2, 0.0), (0.3, 0.2, 1.5),
                                              (-0.5, 0.4, -2.0)])
def test_roll_pitch_round_trip(roll, pitch, yaw):
    r, p = roll_pitch_from_quaternion(*_quat(roll, pitch, yaw))
    assert r == pytest.approx(roll, abs=1e-12) and p == pytest.approx(pitch, abs=1e-12)


def _imu(q, w=(0.0, 0.0, 0.0)):
    msg = Imu()
    msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w = q
    msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z = w
    return msg


def test_sample_from_a_real_imu_message():
    s = imu_sample_from_msg(_imu(_quat(0.1, 0.0), (0.5, -0.25, 0.0)), 123)
    assert s.orientation_valid and s.received_ns == 123
    assert (s.wx, s.wy) == (0.5, -0.25)
    assert roll_pitch_from_quaternion(s.qx, s.qy, s.qz, s.qw)[0] == pytest.approx(0.1)


def test_rep145_missing_orientation_is_invalid():
    msg = _imu((0.0, 0.0, 0.0, 1.0))
    msg.orientation_covariance[0] = -1.0
    assert not imu_sample_from_msg(msg, 0).orientation_valid


@pytest.mark.parametrize('q', [(0.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 2.0), (math.nan, 0.0, 0.0, 1.0)])
def test_non_unit_or_nan_quaternion_is_invalid(q):
    assert not imu_sample_from_msg(_imu(q), 0).orientation_valid


def test_slightly_off_unit_quaternion_is_normalized():
    s = imu_sample_from_msg(_imu((0.0, 0.0, 0.0, 1.01)), 0)
    assert s.orientation_valid and s.qw == pytest.approx(1.0)
