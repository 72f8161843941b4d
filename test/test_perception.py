"""Perception over real DDS between processes: a fixture photo in, detections and depth out; bad frames survived.

The perception node runs as its own process with the raw ONNX SSD and FastDepth from ../shared/fixtures
on ONNX Runtime; a second process publishes person.jpg; a third (the probe) receives. The sim-profile test
runs camera + perception as `jetson-edge up` starts them and needs `jetson-edge assets fetch`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest
import yaml

from jetson_edge_common.dds import LARGE_DATA_PROFILE
from jetson_edge_common.testing import committed_fixture, fixture_path
from system_helpers import HERE, ROOT, probe

DETECTIONS = 'vision_msgs/msg/Detection2DArray'
# Computed from upstream vision_msgs with Jazzy's rosidl (third_party/vision_msgs/README.md).
REFERENCE_HASHES = json.loads((ROOT / 'third_party' / 'vision_msgs' / 'reference_type_hashes.json').read_text())
# Whole camera frames over shared memory: with Fast DDS's default transports most best-effort
# 1.3 MB images are lost on a busy host without the suite's large-data transport.
ENV = {**os.environ, 'FASTRTPS_DEFAULT_PROFILES_FILE': str(LARGE_DATA_PROFILE)}


def _labels(result: dict) -> list[list[str]]:
    """Per message, the class id of each detection's (single) hypothesis."""
    return [[d['results'][0][0] for d in m['detections']] for m in result['messages']]


@pytest.fixture
def perception_node(tmp_path):
    models = fixture_path('models/ssd_mobilenet_v2_coco_raw.onnx').parent
    # the depth card names its model in the asset cache: one laid out over the fixture
    (tmp_path / 'assets' / 'fastdepth').mkdir(parents=True)
    (tmp_path / 'assets' / 'fastdepth' / 'fastdepth.onnx').symlink_to(fixture_path('models/fastdepth.onnx'))
    params = tmp_path / 'perception.yaml'
    params.write_text(yaml.safe_dump({'/perception': {'ros__parameters': {
        'detection_model': 'ssd_mobilenet_v2_coco_onnx', 'segmentation_model': 'selfie_segmentation_onnx',
        'depth_model': 'fastdepth_onnx', 'depth_enabled': True, 'depth_every_n_frames': 2,
        'backends': ['onnxruntime'], 'model_path': [str(models)], 'diagnostics_period_s': 0.5}}}))
    log = open(tmp_path / 'node.log', 'wb')
    node = subprocess.Popen([sys.executable, '-m', 'jetson_edge_perception.node', '--ros-args',
                             '--params-file', str(params)], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                            env={**ENV, 'JETSON_EDGE_ASSETS': str(tmp_path / 'assets')})
    yield node
    node.send_signal(signal.SIGINT)
    try:
        node.wait(15)
    except subprocess.TimeoutExpired:
        node.kill()
    log.close()
    print((tmp_path / 'node.log').read_text()[-3000:])


def _publish(image: str, *, bad: int = 0) -> subprocess.Popen:
    # runs until the test stops it (--seconds is only a bound): the node may take long to start
    return subprocess.Popen([sys.executable, str(HERE / 'image_publisher.py'), 'camera/image_raw',
                             str(committed_fixture('images') / image), '--rate', '5', '--seconds', '600',
                             '--bad', str(bad)], env=ENV)


def test_fixture_photo_in_one_process_detections_in_another(perception_node):
    publisher = _publish('person.jpg')
    try:
        result = probe('perception/detections', DETECTIONS, seconds=2)
        mask = probe('perception/segmentation', 'sensor_msgs/msg/Image', seconds=1, qos='sensor')
        depth = probe('perception/depth', 'sensor_msgs/msg/Image', seconds=1, qos='sensor')
    finally:
        publisher.terminate()
        publisher.wait(10)
    assert result['count'] >= 2
    for labels in _labels(result):
        assert sorted(labels) == ['dog', 'horse', 'person']
    first = result['messages'][0]
    # the header copied from the image, onto the array and each detection
    assert {first['frame_id']} | {d['frame_id'] for d in first['detections']} == {'camera_optical_frame'}
    # the box in pixels of the 640x424 photo: the fixtures README has the person at (186, 100)-(271, 373)
    person = next(d for d in first['detections'] if d['results'][0][0] == 'person')
    assert person['bbox'] == pytest.approx((228.5, 236.5, 85, 273), abs=4)
    assert 0.9 < person['results'][0][1] <= 1.0
    # the type on the wire is upstream's: the hash the node announces is the one Jazzy computes
    [publisher] = [p for p in result['publishers'] if p['node'] == 'perception']
    assert publisher['type'] == DETECTIONS
    if os.environ.get('ROS_DISTRO') != 'humble':  # REP 2011 type hashes came with Iron
        assert publisher['type_hash'] == REFERENCE_HASHES['hashes'][DETECTIONS]
    assert mask['messages'][0] == {'width': 640, 'height': 424, 'encoding': 'mono8',
                                   'frame_id': 'camera_optical_frame'}
    # depth at the camera frame's size, in metres within the card's range (0.1-10), on the frame's header
    image = depth['messages'][0]
    assert {k: image[k] for k in ('width', 'height', 'encoding', 'frame_id', 'size')} == {
        'width': 640, 'height': 424, 'encoding': '32FC1', 'frame_id': 'camera_optical_frame', 'size': 640 * 424}
    assert image['finite'] and 0.1 <= image['min'] < image['max'] <= 10.0 and image['stamp_ns'] > 0


def test_bad_frames_are_counted_and_skipped_and_the_node_keeps_working(perception_node):
    publisher = _publish('dog.jpg', bad=8)
    try:
        result = probe('perception/detections', DETECTIONS, seconds=1)
        diagnostics = probe('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray', seconds=1.5, keep=1)
    finally:
        publisher.terminate()
        publisher.wait(10)
    assert perception_node.poll() is None
    assert sorted(_labels(result)[0]) == ['bicycle', 'car', 'dog', 'truck']
    status = [s for m in diagnostics['messages'] for s in m['status'] if s['name'] == 'perception: inference'][-1]
    values = status['values']
    for reason in ('encoding', 'zero_size', 'short_data', 'step'):  # 2 sent of each; best effort may lose one
        assert 1 <= int(values[f'dropped_{reason}']) <= 2, (reason, values)
    assert values['detection_backend'].startswith('onnxruntime') and status['level'] == 0


def test_model_that_fails_to_load_reports_error_and_stays_up(tmp_path):
    params = tmp_path / 'perception.yaml'
    params.write_text(yaml.safe_dump({'/perception': {'ros__parameters': {
        'detection_model': 'ssd_mobilenet_v2_coco_onnx', 'segmentation_model': '', 'backends': ['onnxruntime'],
        'model_path': [str(tmp_path)], 'diagnostics_period_s': 0.5}}}))
    node = subprocess.Popen([sys.executable, '-m', 'jetson_edge_perception.node', '--ros-args',
                             '--params-file', str(params)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        diagnostics = probe('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray', seconds=1.5, keep=1)
        assert node.poll() is None
    finally:
        node.send_signal(signal.SIGINT)
        node.wait(15)
    status = [s for m in diagnostics['messages'] for s in m['status'] if s['name'] == 'perception: inference'][-1]
    assert status['level'] == 2
    assert 'model load failed' in status['message'] and 'ssd_mobilenet_v2_coco_raw.onnx not found' in status['message']


def test_sim_profile_shows_detections_and_masks_on_registry_photos(start_suite):
    from jetson_edge_perception import assets
    if any(v != 'ok' for v in assets.verify().values()):
        pytest.skip('sim assets not fetched: run `jetson-edge assets fetch`')
    suite = start_suite('sim', only=['camera', 'perception'])
    result = probe('perception/detections', DETECTIONS, seconds=3, keep=8)
    mask = probe('perception/segmentation', 'sensor_msgs/msg/Image', seconds=1, qos='sensor')
    overlay = probe('perception/overlay', 'sensor_msgs/msg/Image', seconds=1, qos='sensor')
    assert suite.alive()
    seen = {label for labels in _labels(result) for label in labels}
    assert seen & {'person', 'cat', 'cup', 'tie'}, seen
    assert mask['messages'][0]['encoding'] == 'mono8' and overlay['messages'][0]['encoding'] == 'bgr8'


def test_camera_source_publishes_images_and_camera_info(tmp_path):
    calibration = tmp_path / 'camera.yaml'
    calibration.write_text('image_width: 768\nimage_height: 576\ncamera_name: front\n'
                           'camera_matrix: {rows: 3, cols: 3, data: [600, 0, 384, 0, 600, 288, 0, 0, 1]}\n'
                           'distortion_model: plumb_bob\n'
                           'distortion_coefficients: {rows: 1, cols: 5, data: [0, 0, 0, 0, 0]}\n')
    params = tmp_path / 'camera.yaml.params'
    params.write_text(yaml.safe_dump({'/camera_source': {'ros__parameters': {
        'source': str(committed_fixture('images/dog.jpg')), 'rate_hz': 10.0, 'width': 384,
        'calibration_file': str(calibration), 'frame_id': 'front_camera_optical_frame'}}}))
    node = subprocess.Popen([sys.executable, '-m', 'jetson_edge_perception.camera_node', '--ros-args',
                             '--params-file', str(params)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=ENV)
    try:
        images = probe('camera/image_raw', 'sensor_msgs/msg/Image', seconds=1.5, qos='sensor')
        info = probe('camera/camera_info', 'sensor_msgs/msg/CameraInfo', seconds=0.5, qos='sensor')
    finally:
        node.send_signal(signal.SIGINT)
        node.wait(15)
    assert images['messages'][0] == {'width': 384, 'height': 288, 'encoding': 'bgr8',
                                     'frame_id': 'front_camera_optical_frame'}
    assert 5 <= images['rate_hz'] <= 15
    text = info['messages'][0]['repr']
    assert 'width=384' in text and 'height=288' in text and "frame_id='front_camera_optical_frame'" in text
    assert re.search(r'k=array\(\[300\.,\s*0\.,\s*192\.', text)  # K scaled with the image


def _set(*assignments: str) -> list[dict]:
    import json
    done = subprocess.run([sys.executable, str(HERE / 'set_param.py'), '/perception', *assignments],
                          capture_output=True, text=True, timeout=180)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_threshold_and_class_filter_change_at_run_time(perception_node):
    publisher = _publish('dog.jpg')
    try:
        before = probe('perception/detections', DETECTIONS, seconds=0.5, keep=1)
        assert _set('score_threshold=0.9') == [{'successful': True, 'reason': ''}]
        refused = _set('score_threshold=1.5')
        assert refused[0]['successful'] is False
        strict = probe('perception/detections', DETECTIONS, seconds=1, keep=20)
        assert _set('score_threshold=0.5', 'class_filter=dog,car') == [{'successful': True, 'reason': ''}] * 2
        filtered = probe('perception/detections', DETECTIONS, seconds=1, keep=20)
    finally:
        publisher.terminate()
        publisher.wait(10)
    assert sorted(_labels(before)[0]) == ['bicycle', 'car', 'dog', 'truck']
    assert _labels(strict)[-1] == ['bicycle']
    assert sorted(_labels(filtered)[-1]) == ['car', 'dog']
