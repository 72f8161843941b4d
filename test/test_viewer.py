"""The viewer over real DDS and a real WebSocket: a scene publisher process, the viewer node
process, and a Foxglove client written from the protocol spec (jetson_edge_viewer.testing) that
subscribes and decodes what arrives with the advertised schemas alone. A second client that
subscribes and then never reads must not hold up the first one or the publishers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import cv2
import numpy as np
import pytest

from jetson_edge_common.dds import LARGE_DATA_PROFILE
from jetson_edge_common.testing import committed_fixture
from jetson_edge_viewer.testing import FoxgloveClient, protobuf_decoder
from suite_helpers import wait_for
from system_helpers import HERE, ROOT

ENV = {**os.environ, 'FASTRTPS_DEFAULT_PROFILES_FILE': str(LARGE_DATA_PROFILE)}
PHOTO = committed_fixture('images/dog.jpg')
POINTS = 2000
TOPICS = ['/camera/image_raw', '/perception/detections', '/lidar/points', '/imu/data', '/diagnostics',
          '/rt/timing']


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    try:
        out, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out or ''


@pytest.fixture
def viewer(tmp_path):
    port = free_tcp_port()
    log = open(tmp_path / 'viewer.log', 'w')
    node = subprocess.Popen([sys.executable, '-m', 'jetson_edge_viewer.node', '--ros-args',
                             '-p', f'port:={port}', '-p', 'diagnostics_period_s:=0.5', '-p', 'image_max_hz:=10.0',
                             '-p', 'client_backlog:=8'],
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=ENV)
    scene = subprocess.Popen([sys.executable, str(HERE / 'viewer_scene_publisher.py'), str(PHOTO),
                              '--rate', '10', '--points', str(POINTS), '--seconds', '120'],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=ENV)
    yield f'ws://127.0.0.1:{port}', node
    print('scene publisher:', stop(scene)[-2000:])
    stop(node)
    log.close()
    print((tmp_path / 'viewer.log').read_text()[-3000:])


def connected(url: str, **kwargs) -> FoxgloveClient:
    clients = []

    def attempt():
        try:
            clients.append(FoxgloveClient(url, **kwargs))
            return True
        except OSError:
            return False

    wait_for(attempt, 60, f'the viewer to accept connections on {url}')
    return clients[0]


def decoder(client: FoxgloveClient, topic: str):
    channel = client.topics()[topic]
    assert channel.encoding == 'protobuf'
    return protobuf_decoder(channel.schema_name, channel.schema)


def test_a_spec_client_sees_the_scene_and_a_stalled_one_holds_nothing_up(viewer):
    url, node = viewer
    client = connected(url)
    wait_for(lambda: set(TOPICS) <= set(client.topics()), 30, lambda: f'advertised: {sorted(client.topics())}')
    client.subscribe(TOPICS)
    wait_for(lambda: all(len(client.received(t)) >= 3 for t in TOPICS), 60,
             lambda: f'received: {[(t, len(client.received(t))) for t in TOPICS]}')

    image = decoder(client, '/camera/image_raw')(client.received('/camera/image_raw')[-1].payload)
    assert image.format == 'jpeg' and image.frame_id == 'camera_optical_frame'
    pixels = cv2.imdecode(np.frombuffer(image.data, np.uint8), cv2.IMREAD_COLOR)
    assert pixels.shape == cv2.imread(str(PHOTO)).shape

    annotate = decoder(client, '/perception/detections')
    annotations = [annotate(m.payload) for m in client.received('/perception/detections')]
    assert all(len(a.points) == 2 and len(a.texts) == 2 for a in annotations)
    assert annotations[-1].texts[0].text == 'dog 0.90'
    image_stamps = {(i.timestamp.seconds, i.timestamp.nanos) for i in
                    map(decoder(client, '/camera/image_raw'), (m.payload for m in client.received('/camera/image_raw')))}
    annotation_stamps = {(a.points[0].timestamp.seconds, a.points[0].timestamp.nanos) for a in annotations}
    assert image_stamps & annotation_stamps, 'annotations carry their frames\' stamps'

    cloud = decoder(client, '/lidar/points')(client.received('/lidar/points')[-1].payload)
    assert len(cloud.data) // cloud.point_stride == POINTS and cloud.frame_id == 'velodyne'

    imu = json.loads(client.received('/imu/data')[-1].payload)
    assert imu['linear_acceleration']['z'] == 9.81
    assert client.topics()['/diagnostics'].schema_name == 'diagnostic_msgs/msg/DiagnosticArray'
    assert json.loads(client.received('/rt/timing')[-1].payload)['cycles'] == 500

    def own_status() -> dict | None:
        for m in reversed(client.received('/diagnostics')):
            for status in json.loads(m.payload)['status']:
                if status['name'] == 'viewer: server':
                    return status
        return None

    wait_for(lambda: own_status() is not None and 'to 1 client' in own_status()['message'], 30,
             lambda: f'viewer status: {own_status()}')

    staller = connected(url, read=False)
    staller.read_until_advertised({'/lidar/points', '/camera/image_raw'}, 30)
    staller.subscribe(['/lidar/points', '/camera/image_raw'])
    before = len(client.received('/lidar/points'))
    wait_for(lambda: len(client.received('/lidar/points')) >= before + 30, 60,
             lambda: f'clouds since the stalled client subscribed: {len(client.received("/lidar/points")) - before}')
    assert node.poll() is None
    staller.close()
    client.close()
