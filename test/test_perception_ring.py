"""Camera -> perception over the shared-memory frame ring, between real processes, against the Image path.

One camera source process puts person.jpg into its ring (FrameSlot messages on camera/image_raw/shm)
and, because a subscriber asks for them, Image messages too; two perception processes run the same
raw ONNX SSD, one reading the ring, one the Image topic; a probe process receives both. A perception
node told to read a ring that does not exist here (a camera on another host) falls back to Image.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jetson_edge_common.dds import LARGE_DATA_PROFILE
from jetson_edge_common.testing import committed_fixture, fixture_path, interrupt
from system_helpers import HERE, ROOT, probe

DETECTIONS = 'vision_msgs/msg/Detection2DArray'
DIAGNOSTICS = 'diagnostic_msgs/msg/DiagnosticArray'
ENV = {**os.environ, 'FASTRTPS_DEFAULT_PROFILES_FILE': str(LARGE_DATA_PROFILE)}


def _start(tmp_path: Path, module: str, name: str, params: dict) -> subprocess.Popen:
    path = tmp_path / f'{name}.yaml'
    path.write_text(yaml.safe_dump({f'/{name}': {'ros__parameters': params}}))
    log = open(tmp_path / f'{name}.log', 'wb')
    return subprocess.Popen([sys.executable, '-m', module, '--ros-args', '-r', f'__node:={name}',
                             '--params-file', str(path)], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=ENV)


def _perception(tmp_path: Path, name: str, *, frame_ring: bool) -> subprocess.Popen:
    return _start(tmp_path, 'jetson_edge_perception.node', name, {
        'detection_model': 'ssd_mobilenet_v2_coco_onnx', 'segmentation_model': '', 'depth_model': '',
        'backends': ['onnxruntime'], 'intra_op_threads': 1,
        'model_path': [str(fixture_path('models/ssd_mobilenet_v2_coco_raw.onnx').parent)],
        'detections_topic': f'{name}/detections', 'frame_ring': frame_ring, 'diagnostics_period_s': 0.5})


@pytest.fixture
def processes(tmp_path):
    started: list[subprocess.Popen] = []
    yield lambda process: started.append(process) or process
    for process in reversed(started):
        interrupt(process)
    for log in sorted(tmp_path.glob('*.log')):
        print(f'--- {log.name}\n{log.read_text()[-2000:]}')


def _status(diagnostics: dict, name: str) -> dict:
    found = [s for m in diagnostics['messages'] for s in m['status'] if s['name'] == name]
    assert found, (name, sorted({s['name'] for m in diagnostics['messages'] for s in m['status']}))
    return found[-1]


def _detections(result: dict) -> list[list[tuple]]:
    return [sorted((d['results'][0][0], round(d['results'][0][1], 4), tuple(round(v, 2) for v in d['bbox']))
                   for d in m['detections']) for m in result['messages']]


def test_detections_from_the_ring_match_the_image_path(tmp_path, processes):
    camera = processes(_start(tmp_path, 'jetson_edge_perception.camera_node', 'camera_source', {
        'source': str(committed_fixture('images/person.jpg')), 'rate_hz': 5.0, 'frame_ring_slots': 4}))
    processes(_perception(tmp_path, 'ring_perception', frame_ring=True))
    processes(_perception(tmp_path, 'image_perception', frame_ring=False))
    ring = probe('ring_perception/detections', DETECTIONS, seconds=2)
    image = probe('image_perception/detections', DETECTIONS, seconds=1)
    diagnostics = probe('/diagnostics', DIAGNOSTICS, seconds=3, keep=10)
    assert camera.poll() is None
    ring_frames, image_frames = _detections(ring), _detections(image)
    assert {label for label, _, _ in ring_frames[0]} == {'dog', 'horse', 'person'}
    # the same pixels through the same model: the same boxes and scores, frame after frame
    assert ring_frames[0] == image_frames[0] and len(set(map(tuple, ring_frames + image_frames))) == 1
    status = _status(diagnostics, 'ring_perception: inference')
    assert status['values']['frame_input'] == 'frame ring' and status['level'] == 0
    assert int(status['values']['frames_processed']) >= 1
    assert _status(diagnostics, 'image_perception: inference')['values']['frame_input'] == 'image'
    source = _status(diagnostics, 'camera_source: source')
    assert source['values']['frame_ring'].startswith('jetson_edge_camera_source_')
    assert int(source['values']['image_subscribers']) >= 1 and int(source['values']['images_sent']) >= 1
    ring_file = Path('/dev/shm') / source['values']['frame_ring']
    assert ring_file.exists()
    camera.send_signal(signal.SIGINT)
    camera.wait(15)
    assert not ring_file.exists()  # the camera removes its ring on the way out


def test_a_ring_on_another_host_falls_back_to_the_image_topic(tmp_path, processes):
    # FrameSlot messages naming a ring this host does not have, and the frames as Image messages
    processes(subprocess.Popen([sys.executable, str(HERE / 'frame_slot_publisher.py'), 'camera/image_raw/shm',
                                'jetson_edge_camera_elsewhere.1', '--rate', '5', '--seconds', '600'], env=ENV))
    processes(subprocess.Popen([sys.executable, str(HERE / 'image_publisher.py'), 'camera/image_raw',
                                str(committed_fixture('images/person.jpg')), '--rate', '5', '--seconds', '600'],
                               env=ENV))
    node = processes(_perception(tmp_path, 'perception', frame_ring=True))
    result = probe('perception/detections', DETECTIONS, seconds=1)
    diagnostics = probe('/diagnostics', DIAGNOSTICS, seconds=1.5, keep=3)
    assert node.poll() is None
    assert {label for label, _, _ in _detections(result)[0]} == {'dog', 'horse', 'person'}
    status = _status(diagnostics, 'perception: inference')
    assert status['level'] == 1 and 'jetson_edge_camera_elsewhere.1' in status['message']
    assert status['values']['frame_input'] == 'image (ring missing)'
    assert int(status['values']['dropped_ring_missing']) >= 1


def test_with_a_ring_and_no_image_subscriber_the_camera_sends_no_image(tmp_path, processes):
    camera = processes(_start(tmp_path, 'jetson_edge_perception.camera_node', 'camera_source', {
        'source': str(committed_fixture('images/person.jpg')), 'rate_hz': 5.0, 'frame_ring_slots': 2}))
    slots = probe('camera/image_raw/shm', 'jetson_edge_msgs/msg/FrameSlot', seconds=1, qos='sensor')
    diagnostics = probe('/diagnostics', DIAGNOSTICS, seconds=1.5, keep=3)
    assert camera.poll() is None
    assert 3 <= slots['rate_hz'] <= 8
    assert "ring='jetson_edge_camera_source_" in slots['messages'][0]['repr']
    values = _status(diagnostics, 'camera_source: source')['values']
    assert int(values['frames']) >= 5 and values['image_subscribers'] == '0' and values['images_sent'] == '0'
