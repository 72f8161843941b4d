"""Detections to vision_msgs/Detection2DArray: the pure conversion, the message, and the type itself
(the vision_msgs this environment has must hash like upstream's in Jazzy, or it is not wire-compatible)."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from ament_index_python.packages import get_package_share_directory
from builtin_interfaces.msg import Time
from rclpy.serialization import deserialize_message, serialize_message
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from conftest import CARDS, REPO
from jetson_edge_perception.backends import BackendOptions, create_backend
from jetson_edge_perception.labelled_boxes import LabelledBox, labelled_boxes
from jetson_edge_perception.model_card import load_card
from jetson_edge_perception.node import detection_array
from jetson_edge_perception.pipeline import ModelPipeline
from jetson_edge_perception.postprocess import Detections

REFERENCE = json.loads((REPO / 'third_party' / 'vision_msgs' / 'reference_type_hashes.json').read_text())


def test_boxes_become_centre_and_size_with_the_cards_labels():
    card = load_card(CARDS / 'ssd_mobilenet_v2_coco_onnx.yaml')
    found = Detections(np.array([[10, 20, 110, 70], [0.5, 1.5, 2.5, 9.5]], np.float32),
                       np.array([0.9, 0.25], np.float32), np.array([18, 9999], np.int32))
    assert labelled_boxes(found, card.label) == [
        LabelledBox(label='dog', score=pytest.approx(0.9), center_x=60.0, center_y=45.0, size_x=100.0, size_y=50.0),
        LabelledBox(label='class_9999', score=0.25, center_x=1.5, center_y=5.5, size_x=2.0, size_y=8.0)]
    assert labelled_boxes(Detections.empty(), card.label) == []


def test_the_message_carries_label_score_box_and_the_frames_header():
    header = Header(stamp=Time(sec=12, nanosec=345), frame_id='camera_optical_frame')
    box = LabelledBox(label='person', score=0.75, center_x=320.5, center_y=200.0, size_x=64.0, size_y=128.0)
    msg = deserialize_message(serialize_message(detection_array(header, [box, box])), Detection2DArray)
    assert msg.header == header and len(msg.detections) == 2
    detection = msg.detections[0]
    assert detection.header == header and detection.id == ''
    assert [(r.hypothesis.class_id, r.hypothesis.score) for r in detection.results] == [('person', 0.75)]
    assert (detection.bbox.center.position.x, detection.bbox.center.position.y, detection.bbox.center.theta,
            detection.bbox.size_x, detection.bbox.size_y) == (320.5, 200.0, 0.0, 64.0, 128.0)
    assert detection_array(header, []).detections == []


def test_a_fixture_photos_detections_arrive_in_the_message_in_source_pixels(images_dir, models_dir):
    card = load_card(CARDS / 'ssd_mobilenet_v2_coco_onnx.yaml')
    backend = create_backend('onnxruntime', card, options=BackendOptions(search_dirs=(str(models_dir),)))
    backend.activate()
    try:
        found = ModelPipeline(card, backend).process(cv2.imread(str(images_dir / 'dog.jpg')), 'bgr8').detections
    finally:
        backend.close()
    msg = detection_array(Header(frame_id='camera'), labelled_boxes(found, card.label))
    assert sorted(d.results[0].hypothesis.class_id for d in msg.detections) == ['bicycle', 'car', 'dog', 'truck']
    corners = [[d.bbox.center.position.x - d.bbox.size_x / 2, d.bbox.center.position.y - d.bbox.size_y / 2,
                d.bbox.center.position.x + d.bbox.size_x / 2, d.bbox.center.position.y + d.bbox.size_y / 2]
               for d in msg.detections]
    np.testing.assert_allclose(corners, found.boxes, atol=1e-3)
    np.testing.assert_allclose([d.results[0].hypothesis.score for d in msg.detections], found.scores, rtol=1e-6)


@pytest.mark.parametrize('type_name', sorted(REFERENCE['hashes']))
def test_this_environments_vision_msgs_hash_like_upstreams_in_jazzy(type_name):
    """The generated type description that rosidl wrote for the vision_msgs found here (the distro's,
    or third_party/vision_msgs built by setup) against the reference computed from upstream's files."""
    package, kind, name = type_name.split('/')
    generated = Path(get_package_share_directory(package)) / kind / f'{name}.json'
    hashes = {h['type_name']: h['hash_string'] for h in json.loads(generated.read_text())['type_hashes']}
    assert hashes[type_name] == REFERENCE['hashes'][type_name], generated
