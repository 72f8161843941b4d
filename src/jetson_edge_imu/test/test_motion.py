"""The emulated motion is physically consistent: integrating its gyro reproduces its
orientation, and its accelerometer is gravity plus the trajectory's acceleration."""

import math

from jetson_edge_imu import quaternion as quat
from jetson_edge_imu.motion import STANDARD_GRAVITY, TorsoMotion


def test_gyro_integrates_to_the_orientation_trajectory():
    motion = TorsoMotion(still_s=0.5)
    dt = 1e-3
    q = motion.state(0.0).orientation
    worst = 0.0
    for k in range(1, 20001):  # 20 s
        t0 = (k - 1) * dt
        w = motion.state(t0 + dt / 2).angular_velocity  # midpoint rule
        half = [0.5 * v * dt for v in w]
        angle = math.sqrt(sum(v * v for v in half))
        s = math.sin(angle) / angle if angle else 1.0
        q = quat.normalize(quat.multiply(q, (math.cos(angle), half[0] * s, half[1] * s,
                                             half[2] * s)))
        if k % 1000 == 0:
            truth = motion.state(k * dt).orientation
            d = quat.multiply(quat.conjugate(truth), q)
            worst = max(worst, 2 * math.acos(min(1.0, abs(d[0]))))
    assert worst < math.radians(0.05)


def test_still_phase_reads_one_g_up_then_walking_moves():
    motion = TorsoMotion(still_s=2.0)
    s = motion.state(1.0)
    assert s.angular_velocity == (0.0, 0.0, 0.0)
    assert math.isclose(s.specific_force[2], STANDARD_GRAVITY, rel_tol=1e-12)
    moving = [motion.state(4 + 0.05 * k) for k in range(100)]
    assert max(abs(m.angular_velocity[0]) for m in moving) > 0.1
    norms = [math.sqrt(sum(v * v for v in m.specific_force)) for m in moving]
    assert max(norms) - min(norms) > 1.0  # linear acceleration present


def test_specific_force_is_gravity_rotated_plus_linear_acceleration():
    motion = TorsoMotion(still_s=1.0, ramp_s=1.0)
    h = 1e-3
    for t in (1.4, 3.7, 7.3, 12.9):
        s = motion.state(t)
        world = quat.rotate(s.orientation, s.specific_force)
        p0, p1, p2 = motion.position(t - h), motion.position(t), motion.position(t + h)
        accel = [(a - 2 * b + c) / (h * h) for a, b, c in zip(p0, p1, p2)]
        expected = (accel[0], accel[1], accel[2] + STANDARD_GRAVITY)
        assert all(abs(w - e) < 1e-3 for w, e in zip(world, expected)), (t, world, expected)
    assert max(abs(v) for v in accel) > 0.5  # the bounce is there to disturb the filter
