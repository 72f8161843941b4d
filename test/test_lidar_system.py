"""The LiDAR driver as a process: real UDP in, PointCloud2 out over DDS, garbage shrugged off.

The driver (velodyne_node) and the virtual sensor run as separate processes; a thread here
sprays malformed datagrams, or well-formed foreign packets, at the driver's socket the whole
time; another process (ros_probe.py) receives the clouds and the diagnostics.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest

from system_helpers import probe
from udp_attacker import foreign_packets


#: Motor speed of the virtual sensor, and the driver's rpm.
RPM = 600


def _command(executable: str, module: str) -> list[str]:
    found = shutil.which(executable)
    return [found] if found else [sys.executable, '-m', module]


@pytest.fixture
def lidar_processes(tmp_path):
    port = 24000 + os.getpid() % 1000
    log = open(tmp_path / 'lidar.log', 'wb')
    node = subprocess.Popen(
        _command('velodyne_node', 'jetson_edge_lidar.node')
        + ['--ros-args', '-p', f'port:={port}', '-p', 'address:=127.0.0.1',
           '-p', f'rpm:={RPM}'],
        stdout=log, stderr=subprocess.STDOUT)
    sensor = subprocess.Popen(
        [sys.executable, '-m', 'jetson_edge_sim.lidar.virtual_sensor', '--port', str(port),
         '--rpm', str(RPM)],
        stdout=log, stderr=subprocess.STDOUT)
    yield node, port
    for process in (sensor, node):
        process.send_signal(signal.SIGINT)
    for process in (sensor, node):
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    print((tmp_path / 'lidar.log').read_text(errors='replace')[-3000:])


@pytest.mark.long  # a fault test (the fuzzers and the attack test cover garbage too)
def test_driver_keeps_publishing_while_receiving_garbage(lidar_processes):
    node, port = lidar_processes
    stop = threading.Event()

    def spray():
        rng = random.Random(1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            while not stop.wait(0.01):
                size = rng.choice([0, 7, 512, 1205, 1206, 1207, 1500])
                tx.sendto(bytes(rng.getrandbits(8) for _ in range(size)), ('127.0.0.1', port))

    sprayer = threading.Thread(target=spray, daemon=True)
    sprayer.start()
    try:
        clouds = probe('lidar/points', 'sensor_msgs/msg/PointCloud2', seconds=4.0, qos='sensor')
        diagnostics = probe('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray',
                            seconds=3.0, keep=10)
    finally:
        stop.set()
        sprayer.join(5)
    assert node.poll() is None, 'velodyne_node died'
    assert clouds['count'] >= 15  # a 10 Hz stream; generous for a loaded test machine
    cloud = clouds['messages'][0]
    assert cloud['frame_id'] == 'velodyne' and cloud['point_step'] % 16 == 0
    assert [f[:2] for f in cloud['fields'][:3]] == [['x', 0], ['y', 4], ['z', 8]]
    assert {f[0] for f in cloud['fields']} == {'x', 'y', 'z', 'intensity', 'ring', 'time'}
    assert 20_000 < cloud['width'] < 40_000
    ours = [s for m in diagnostics['messages'] for s in m['status']
            if s['name'].endswith(': lidar')]
    assert ours, 'no velodyne diagnostics'
    values = ours[-1]['values']
    assert int(values['dropped_total']) > 0
    assert int(values['packets_decoded']) > 1000
    assert ours[-1]['level'] in (1, 2) and 'bad datagrams' in ours[-1]['message']


def test_foreign_packets_beside_the_sensor_neither_cut_scans_nor_go_unseen(lidar_processes):
    node, port = lidar_processes
    stop = threading.Event()
    sent = [0]

    def spoof():
        rng = np.random.default_rng(13)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            while not stop.wait(0.01):  # about 500 foreign packets/s, the attack's rate
                for packet in foreign_packets(rng, 5):
                    tx.sendto(packet, ('127.0.0.1', port))
                sent[0] += 5

    spoofer = threading.Thread(target=spoof, daemon=True)
    spoofer.start()
    try:
        seconds = 5.0
        clouds = probe('lidar/points', 'sensor_msgs/msg/PointCloud2', seconds=seconds,
                       qos='sensor')
        diagnostics = probe('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray',
                            seconds=3.0, keep=10)
    finally:
        stop.set()
        spoofer.join(5)
    assert node.poll() is None, 'velodyne_node died'
    assert sent[0] > 1000
    # The virtual sensor turns at RPM: 10 clouds/s. Fragments would be hundreds a second;
    # a loaded machine may lose a few whole clouds, never split them.
    sensor_rate_hz = RPM / 60
    assert 0.5 * sensor_rate_hz * seconds <= clouds['count'] <= 1.2 * sensor_rate_hz * seconds
    assert all(20_000 < m['width'] < 40_000 for m in clouds['messages'])
    ours = [s for m in diagnostics['messages'] for s in m['status']
            if s['name'].endswith(': lidar')]
    assert len(ours) >= 2, 'no velodyne diagnostics'
    rejected = [int(s['values'].get('dropped_out_of_sequence', 0)) for s in ours]
    print(f'{sent[0]} foreign packets sent; {clouds["count"]} clouds in {seconds:g} s '
          f'(sensor: {sensor_rate_hz:g}/s), out_of_sequence {rejected[0]} -> {rejected[-1]}')
    assert rejected[0] > 0 and rejected[-1] > rejected[0]
    assert int(ours[-1]['values']['packets_decoded']) > 1000


def test_sim_profile_lidar_through_the_supervisor(start_suite):
    suite = start_suite(profile='sim', only=['lidar'])  # the virtual sensor comes as a companion
    clouds = probe('lidar/points', 'sensor_msgs/msg/PointCloud2', seconds=5.0, qos='sensor')
    assert suite.alive()
    assert clouds['count'] >= 20
    assert 8.0 < clouds['rate_hz'] < 12.0
    assert '[lidar_sim' in suite.output() and '[lidar ' in suite.output()
