"""What an emulated sensor measures at time t: the motion truth seen through a mounting
rotation, plus datasheet white noise and an injected constant gyro bias; and the Earth's
magnetic field as a magnetometer on the same die sees it. Shared by the MPU register emulator,
its AK8963 and the BNO055 emulator."""

from __future__ import annotations

import random
from dataclasses import dataclass

from jetson_edge_imu import quaternion as quat
from jetson_edge_imu.motion import MotionState, TorsoMotion
from jetson_edge_imu.sensor_specs import NoiseSpec

# A mid-latitude field in the world frame (east, north, up), tesla: 20 uT north, 44 uT down.
EARTH_FIELD_ENU: quat.Vec3 = (0.0, 20e-6, -44e-6)
# A few LSB of the AK8963's 0.15 uT: the emulated magnetometer is not noise-free.
MAG_NOISE_TESLA = 0.3e-6


@dataclass(frozen=True, slots=True)
class Measurement:
    truth: MotionState
    accel: quat.Vec3  # sensor frame, m/s^2
    gyro: quat.Vec3  # sensor frame, rad/s, bias and noise included
    orientation: quat.Quat  # world <- sensor, noise free
    temperature: float


class SimulatedSensor:
    """Truth + noise + bias generator. ``mount`` is the sensor's orientation in the body frame
    (body <- sensor), the rotation the driver's ``mount_rpy`` parameter must undo."""

    def __init__(
        self,
        motion: TorsoMotion,
        noise: NoiseSpec,
        *,
        accel_bandwidth_hz: float,
        gyro_bandwidth_hz: float,
        gyro_bias: quat.Vec3 = (0.0, 0.0, 0.0),
        mount: quat.Quat = quat.IDENTITY,
        temperature: float = 31.0,
        earth_field: quat.Vec3 = EARTH_FIELD_ENU,
        seed: int = 1,
    ) -> None:
        self.motion = motion
        self.gyro_bias = gyro_bias
        self.mount = mount
        self.temperature = temperature
        self._sigma_a = noise.accel_sigma(accel_bandwidth_hz)
        self._sigma_g = noise.gyro_sigma(gyro_bandwidth_hz)
        self._rng = random.Random(seed)
        self.earth_field = earth_field
        # Its own stream: a seed's accelerometer and gyro samples stay what they were.
        self._mag_rng = random.Random(seed + 1)

    def measure(self, t: float) -> Measurement:
        truth = self.motion.state(t)
        inv = quat.conjugate(self.mount)
        a = quat.rotate(inv, truth.specific_force)
        w = quat.rotate(inv, truth.angular_velocity)
        g = self._rng.gauss
        sa, sg, b = self._sigma_a, self._sigma_g, self.gyro_bias
        accel = (a[0] + g(0, sa), a[1] + g(0, sa), a[2] + g(0, sa))
        gyro = (w[0] + b[0] + g(0, sg), w[1] + b[1] + g(0, sg), w[2] + b[2] + g(0, sg))
        orientation = quat.multiply(truth.orientation, self.mount)
        return Measurement(truth, accel, gyro, orientation, self.temperature)

    def magnetic_field(self, t: float) -> quat.Vec3:
        """The field in the sensor frame (T) at time ``t``: the world field rotated with the
        motion, plus noise."""
        world_from_sensor = quat.multiply(self.motion.state(t).orientation, self.mount)
        f = quat.rotate(quat.conjugate(world_from_sensor), self.earth_field)
        g, s = self._mag_rng.gauss, MAG_NOISE_TESLA
        return (f[0] + g(0, s), f[1] + g(0, s), f[2] + g(0, s))
