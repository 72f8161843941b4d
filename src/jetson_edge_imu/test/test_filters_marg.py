"""The orientation filters with a magnetometer (MARG): they find the heading, east-north-up with
magnetic north, whatever the dip angle, and keep roll and pitch."""

import math

import pytest

from jetson_edge_imu import quaternion as quat
from jetson_edge_imu.filters import ComplementaryFilter, MadgwickFilter, orientation_from_accel
from jetson_edge_imu.motion import STANDARD_GRAVITY

FIELD_ENU = (0.0, 20e-6, -44e-6)


def _seen_by(orientation, world_vector):
    return quat.rotate(quat.conjugate(orientation), world_vector)


def _yaw_error(a, b):
    d = quat.to_euler(a)[2] - quat.to_euler(b)[2]
    return abs(math.atan2(math.sin(d), math.cos(d)))


def test_first_sample_with_a_field_sets_the_heading():
    truth = quat.from_euler(0.2, -0.1, 1.0)
    accel = _seen_by(truth, (0.0, 0.0, STANDARD_GRAVITY))
    q = orientation_from_accel(accel, _seen_by(truth, FIELD_ENU))
    assert _yaw_error(q, truth) < 1e-6
    assert quat.tilt_error(q, truth) < 1e-6  # acos near 1: float precision


@pytest.mark.parametrize('make', [lambda: MadgwickFilter(beta=0.1),
                                  lambda: ComplementaryFilter(gain=0.5)],
                         ids=['madgwick', 'complementary'])
@pytest.mark.parametrize('dip_deg', [30.0, 65.0])
def test_a_wrong_heading_converges_to_magnetic_north(make, dip_deg):
    truth = quat.from_euler(0.15, -0.1, 2.0)
    dip = math.radians(dip_deg)
    field = (0.0, 48e-6 * math.cos(dip), -48e-6 * math.sin(dip))
    accel = _seen_by(truth, (0.0, 0.0, STANDARD_GRAVITY))
    mag = _seen_by(truth, field)
    f = make()
    f.update((0.0, 0.0, 0.0), accel, 0.005)  # no field yet: yaw 0, 2 rad off
    assert _yaw_error(f.orientation, truth) > 1.9
    for i in range(12000):  # 60 s at 200 Hz; the field comes with every other sample
        f.update((0.0, 0.0, 0.0), accel, 0.005, mag=mag if i % 2 else None)
    assert _yaw_error(f.orientation, truth) < math.radians(0.5)
    assert quat.tilt_error(f.orientation, truth) < math.radians(0.5)


def test_without_a_field_yaw_only_integrates():
    f = MadgwickFilter(beta=0.1)
    accel = (0.0, 0.0, STANDARD_GRAVITY)
    f.update((0.0, 0.0, 0.0), accel, 0.01)
    for _ in range(1000):
        f.update((0.0, 0.0, 0.0), accel, 0.01)
    assert abs(quat.to_euler(f.orientation)[2]) < 1e-9
