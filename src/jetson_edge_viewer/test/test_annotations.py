"""Detections become image annotations: one closed box outline and one label per detection, each
stamped with the source frame's stamp."""

import math

import pytest
from builtin_interfaces.msg import Time
from foxglove.messages import ImageAnnotations
from std_msgs.msg import Header
from vision_msgs.msg import BoundingBox2D, Detection2D, Detection2DArray, ObjectHypothesisWithPose

from jetson_edge_viewer.annotations import box_corners, to_image_annotations
from jetson_edge_viewer.errors import ConversionError
from jetson_edge_viewer.testing import protobuf_decoder

DECODE = protobuf_decoder('foxglove.ImageAnnotations', ImageAnnotations.get_schema().data)
STAMP = Time(sec=1765000001, nanosec=5)


def detection(label: str, score: float, cx: float, cy: float, w: float, h: float) -> Detection2D:
    d = Detection2D()
    d.bbox = BoundingBox2D()
    d.bbox.center.position.x, d.bbox.center.position.y = cx, cy
    d.bbox.size_x, d.bbox.size_y = w, h
    hypothesis = ObjectHypothesisWithPose()
    hypothesis.hypothesis.class_id, hypothesis.hypothesis.score = label, score
    d.results = [hypothesis]
    return d


def detections(*items: Detection2D) -> Detection2DArray:
    return Detection2DArray(header=Header(stamp=STAMP, frame_id='camera'), detections=list(items))


def test_each_detection_is_an_outline_and_a_label_at_the_frame_stamp():
    msg = detections(detection('dog', 0.91, 200, 150, 100, 60), detection('person', 0.66, 50, 60, 20, 40))
    out = DECODE(to_image_annotations(msg).encode())
    assert len(out.points) == 2 and len(out.texts) == 2
    first = out.points[0]
    assert out.points[0].type == 2  # LINE_LOOP
    assert [(p.x, p.y) for p in first.points] == [(150, 120), (250, 120), (250, 180), (150, 180)]
    assert [t.text for t in out.texts] == ['dog 0.91', 'person 0.66']
    stamps = {(a.timestamp.seconds, a.timestamp.nanos) for a in [*out.points, *out.texts]}
    assert stamps == {(1765000001, 5)}


def test_no_detections_is_an_empty_annotation_message():
    out = DECODE(to_image_annotations(detections()).encode())
    assert len(out.points) == 0 and len(out.texts) == 0


def test_rotated_box_corners():
    box = detection('x', 1.0, 0, 0, 2, 2).bbox
    box.center.theta = math.pi / 2
    assert [tuple(round(v, 9) + 0.0 for v in c) for c in box_corners(box)] == [(1, -1), (1, 1), (-1, 1), (-1, -1)]


def test_non_finite_box_is_a_counted_reason():
    with pytest.raises(ConversionError) as err:
        to_image_annotations(detections(detection('x', 1.0, float('nan'), 0, 2, 2)))
    assert err.value.reason == 'box'
