"""A simulated room for the virtual LiDAR, ray-cast analytically with numpy.

The room is what a humanoid's head-mounted sensor (1.6 m up) sees indoors: floor, ceiling,
four walls with an open doorway (rays through it return nothing), boxes, two pillars and a
glass partition. Glass gives a weak first return with the wall behind it as the last one,
so dual-return mode carries two different returns where it matters.

Frame: REP 103, x forward, y left, z up, origin on the floor under the sensor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Box:
    lower: tuple[float, float, float]
    upper: tuple[float, float, float]
    reflectivity: int = 90


@dataclass(frozen=True)
class Pillar:
    """Vertical cylinder from the floor to ``height``."""

    x: float
    y: float
    radius: float
    height: float
    reflectivity: int = 60


@dataclass(frozen=True)
class Returns:
    """Per ray: the nearest and the farthest surface hit (equal unless glass was crossed)."""

    near_m: np.ndarray
    near_reflectivity: np.ndarray
    far_m: np.ndarray
    far_reflectivity: np.ndarray


@dataclass(frozen=True)
class Room:
    x_range: tuple[float, float] = (-3.5, 6.5)
    y_range: tuple[float, float] = (-3.0, 4.0)
    height: float = 2.8
    #: Opening in the far (+x) wall: y from, y to, and its height.
    doorway: tuple[float, float, float] = (0.5, 1.5, 2.1)
    boxes: tuple[Box, ...] = field(default=(
        Box((2.0, -1.5, 0.0), (2.8, -0.7, 0.8)),
        Box((-2.5, 2.0, 0.0), (-1.7, 3.0, 1.2), reflectivity=110),
        Box((4.0, 2.5, 0.0), (4.5, 3.5, 1.8), reflectivity=70),
    ))
    pillars: tuple[Pillar, ...] = field(default=(
        Pillar(3.0, 1.5, 0.25, 2.8),
        Pillar(-1.5, -1.8, 0.2, 2.8, reflectivity=140),
    ))
    #: Glass partition in the plane y = glass_y, spanning x and z ranges.
    glass_y: float = -2.2
    glass_x: tuple[float, float] = (-1.0, 3.0)
    glass_z: tuple[float, float] = (0.3, 2.5)
    floor_reflectivity: int = 25
    ceiling_reflectivity: int = 15
    wall_reflectivity: int = 45
    glass_reflectivity: int = 6

    def raycast(self, origin: np.ndarray, direction: np.ndarray) -> Returns:
        """Cast rays from ``origin`` (N, 3) along unit ``direction`` (N, 3).

        Rays that leave the room (through the doorway) get range 0, which a Velodyne sends
        for "no return".
        """
        origin = np.asarray(origin, dtype=np.float64)
        direction = np.asarray(direction, dtype=np.float64)
        n = len(direction)
        best = np.full(n, np.inf)
        best_reflectivity = np.zeros(n, dtype=np.uint8)

        def take(t: np.ndarray, reflectivity: int) -> None:
            closer = t < best
            best[closer] = t[closer]
            best_reflectivity[closer] = reflectivity

        with np.errstate(divide='ignore', invalid='ignore'):
            # The room is a convex box around the sensor: a ray leaves it through the
            # nearest of its six faces, unless that spot is the open doorway.
            faces = [(2, 0.0, self.floor_reflectivity),
                     (2, self.height, self.ceiling_reflectivity),
                     (0, self.x_range[0], self.wall_reflectivity),
                     (0, self.x_range[1], self.wall_reflectivity),
                     (1, self.y_range[0], self.wall_reflectivity),
                     (1, self.y_range[1], self.wall_reflectivity)]
            for axis, value, reflectivity in faces:
                take(self._plane(origin, direction, axis, value), reflectivity)
            hit = origin + np.where(np.isfinite(best), best, 0.0)[:, None] * direction
            y0, y1, door_height = self.doorway
            in_door = ((np.abs(hit[:, 0] - self.x_range[1]) < 1e-9) & (hit[:, 1] > y0)
                       & (hit[:, 1] < y1) & (hit[:, 2] < door_height))
            best[in_door] = np.inf
            for box in self.boxes:
                take(self._box(origin, direction, box), box.reflectivity)
            for pillar in self.pillars:
                take(self._pillar(origin, direction, pillar), pillar.reflectivity)
            glass = self._plane(origin, direction, 1, self.glass_y)
            hit = origin + glass[:, None] * direction
            on_glass = ((hit[:, 0] > self.glass_x[0]) & (hit[:, 0] < self.glass_x[1])
                        & (hit[:, 2] > self.glass_z[0]) & (hit[:, 2] < self.glass_z[1]))
            glass = np.where(on_glass & (glass < best), glass, np.inf)

        escaped = ~np.isfinite(best)
        far = np.where(escaped, 0.0, best)
        far_reflectivity = np.where(escaped, 0, best_reflectivity).astype(np.uint8)
        through_glass = np.isfinite(glass)
        near = np.where(through_glass, glass, far)
        near_reflectivity = np.where(through_glass, self.glass_reflectivity,
                                     far_reflectivity).astype(np.uint8)
        return Returns(near, near_reflectivity, far, far_reflectivity)

    @staticmethod
    def _plane(origin: np.ndarray, direction: np.ndarray, axis: int, value: float
               ) -> np.ndarray:
        t = (value - origin[:, axis]) / direction[:, axis]
        return np.where(t > 1e-9, t, np.inf)

    @staticmethod
    def _box(origin: np.ndarray, direction: np.ndarray, box: Box) -> np.ndarray:
        lower = (np.asarray(box.lower) - origin) / direction
        upper = (np.asarray(box.upper) - origin) / direction
        t_enter = np.nanmax(np.minimum(lower, upper), axis=1)
        t_exit = np.nanmin(np.maximum(lower, upper), axis=1)
        hit = (t_enter <= t_exit) & (t_enter > 1e-9)
        return np.where(hit, t_enter, np.inf)

    @staticmethod
    def _pillar(origin: np.ndarray, direction: np.ndarray, pillar: Pillar) -> np.ndarray:
        ox = origin[:, 0] - pillar.x
        oy = origin[:, 1] - pillar.y
        a = direction[:, 0] ** 2 + direction[:, 1] ** 2
        b = 2 * (ox * direction[:, 0] + oy * direction[:, 1])
        c = ox ** 2 + oy ** 2 - pillar.radius ** 2
        disc = b * b - 4 * a * c
        t = (-b - np.sqrt(np.maximum(disc, 0.0))) / (2 * a)
        z = origin[:, 2] + t * direction[:, 2]
        hit = (disc >= 0) & (a > 0) & (t > 1e-9) & (z >= 0) & (z <= pillar.height)
        return np.where(hit, t, np.inf)
