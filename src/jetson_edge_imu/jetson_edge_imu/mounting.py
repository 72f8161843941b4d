"""The sensor-to-body rotation (the ``mount_rpy`` parameter) applied to vectors, orientations
and covariances, so published data is in the robot's body frame (REP 103: x forward, y left,
z up; REP 145: the IMU message is in the body frame it names)."""

from __future__ import annotations

import math

from jetson_edge_imu import quaternion as quat
from jetson_edge_imu.errors import ConfigError


class Mounting:
    """``rpy`` is the sensor's orientation in the body frame (body <- sensor), radians."""

    def __init__(self, rpy: tuple[float, float, float] | list[float]) -> None:
        if len(rpy) != 3 or not all(math.isfinite(v) for v in rpy):
            raise ConfigError(f'mount_rpy needs three finite angles in radians, got {rpy!r}')
        self.rpy = tuple(float(v) for v in rpy)
        self.q = quat.from_euler(*self.rpy)
        self._inv = quat.conjugate(self.q)
        self.identity = all(v == 0.0 for v in self.rpy)
        self.matrix = quat.to_matrix(self.q)

    def vector(self, v: quat.Vec3) -> quat.Vec3:
        return v if self.identity else quat.rotate(self.q, v)

    def orientation(self, world_from_sensor: quat.Quat) -> quat.Quat:
        """world <- body = (world <- sensor) (sensor <- body)."""
        return world_from_sensor if self.identity else quat.multiply(world_from_sensor, self._inv)

    def covariance(self, diagonal: tuple[float, float, float]) -> list[float]:
        """R diag(c) R^T as a row-major 9-list (the layout of sensor_msgs/Imu)."""
        r = self.matrix
        return [sum(r[i][k] * diagonal[k] * r[j][k] for k in range(3))
                for i in range(3) for j in range(3)]
