"""The simulated room: points land on its surfaces, the doorway returns nothing."""

import numpy as np

from jetson_edge_lidar.decoder import VelodyneDecoder
from jetson_edge_lidar.models import VLP32C, ReturnMode
from jetson_edge_sim.lidar.scene import Room
from jetson_edge_sim.lidar.virtual_sensor import HEAD_HEIGHT_M, SimulatedVelodyne


def test_raycast_hits_the_expected_surfaces():
    room = Room()
    origin = np.zeros((4, 3))
    origin[:, 2] = HEAD_HEIGHT_M
    to_door = np.array([6.5, 1.0, 1.0 - HEAD_HEIGHT_M])  # middle of the doorway
    direction = np.array([[0, 0, -1.0], [0, 1.0, 0], to_door / np.linalg.norm(to_door),
                          [0, -1.0, 0]])
    hits = room.raycast(origin, direction)
    assert np.allclose(hits.far_m, [1.6, 4.0, 0.0, 3.0])  # floor, wall, doorway, wall
    assert hits.near_m[3] == np.float64(2.2) and hits.near_reflectivity[3] == 6
    assert hits.far_reflectivity[2] == 0


def test_decoded_sim_points_lie_inside_the_room():
    sensor = SimulatedVelodyne(VLP32C, ReturnMode.STRONGEST, start_time_s=1.7e9)
    decoder = VelodyneDecoder()
    scans = decoder.decode_batch(sensor.next_packets(300)) + decoder.finish()
    points = np.concatenate([s.points for s in scans])
    room = Room()
    assert points['x'].min() > room.x_range[0] - 0.01
    assert points['x'].max() < room.x_range[1] + 0.01
    assert points['y'].min() > room.y_range[0] - 0.01
    assert points['z'].min() > -HEAD_HEIGHT_M - 0.01
    assert points['z'].max() < room.height - HEAD_HEIGHT_M + 0.01
    floor = np.abs(points['z'] + HEAD_HEIGHT_M) < 0.01
    assert floor.sum() > 1000
