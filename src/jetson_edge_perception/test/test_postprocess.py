"""Decoders and NMS on hand-made tensors whose right answer is known."""

import numpy as np
import pytest

from jetson_edge_perception.model_card import DecoderSpec, InputSpec
from jetson_edge_perception.postprocess import (Detections, batched_nms, decode_detections, decode_mask,
                                                decode_ssd_tf, nms)
from jetson_edge_perception.preprocess import plan_resize


def test_nms_keeps_best_and_drops_overlaps_above_threshold():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 5]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.95], np.float32)
    # IoU(0, 1) = 81/119 = 0.68, IoU(3, 0) = 0.5, IoU(3, 1) = 36/114 = 0.32
    assert nms(boxes, scores, 0.6).tolist() == [3, 0, 2]
    # box 0 falls to box 3, so box 1 (which only box 0 would have suppressed) survives
    assert nms(boxes, scores, 0.45).tolist() == [3, 1, 2]
    assert nms(boxes, scores, 0.3).tolist() == [3, 2]
    assert nms(boxes, scores, 0.7).tolist() == [3, 0, 1, 2]
    assert nms(boxes, scores, 0.7, max_output=2).tolist() == [3, 0]


def test_nms_orders_raw_scores_that_are_zero_or_negative():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    assert nms(boxes, np.array([-2.0, 0.0, -5.0]), 0.5).tolist() == [1, 2]


def test_per_class_nms_never_suppresses_across_classes():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    assert sorted(batched_nms(boxes, scores, np.array([1, 2, 1]), 0.5).tolist()) == [0, 1]
    assert batched_nms(np.zeros((0, 4), np.float32), np.zeros(0), np.zeros(0, int), 0.5).size == 0


def test_tf_box_coder_matches_the_formula():
    anchors = np.array([[0.2, 0.3, 0.6, 0.5]], np.float32)  # ymin, xmin, ymax, xmax: h .4, w .2, cy .4, cx .4
    enc = np.array([[1.0, -2.0, np.log(2) * 5, 0.0]], np.float32)  # ty, tx, th, tw
    box = decode_ssd_tf(enc, anchors, box_scale=(10, 10, 5, 5))[0]
    cy, cx, h, w = 1 / 10 * 0.4 + 0.4, -2 / 10 * 0.2 + 0.4, 2 * 0.4, 0.2
    np.testing.assert_allclose(box, [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], atol=1e-6)


def test_ssd_tf_decoder_thresholds_per_class_and_maps_to_pixels():
    spec = InputSpec(width=300, height=300)
    decoder = DecoderSpec(type='ssd_tf', outputs={'boxes': 'b', 'scores': 's', 'anchors': 'a'},
                          score_activation='sigmoid', background_class=0, iou_threshold=0.6)
    anchors = np.array([[0.1, 0.1, 0.5, 0.5], [0.5, 0.5, 0.9, 0.9]], np.float32)
    logits = np.full((1, 2, 4), -10.0, np.float32)
    logits[0, 0, 0] = 10  # background must be ignored
    logits[0, 0, 2] = 2.0  # sigmoid .88, class 2
    logits[0, 1, 3] = 0.5  # sigmoid .62, class 3
    outputs = {'b': np.zeros((1, 2, 1, 4), np.float32), 's': logits, 'a': anchors}
    transform = plan_resize(600, 400, spec)
    det = decode_detections(outputs, decoder, spec, transform, score_threshold=0.5, max_detections=10)
    assert det.class_ids.tolist() == [2, 3]
    np.testing.assert_allclose(det.scores, [1 / (1 + np.exp(-2)), 1 / (1 + np.exp(-0.5))], rtol=1e-5)
    np.testing.assert_allclose(det.boxes[0], [60, 40, 300, 200], atol=1e-3)  # x from 600 px, y from 400 px
    assert len(decode_detections(outputs, decoder, spec, transform, score_threshold=0.7, max_detections=10)) == 1


@pytest.mark.parametrize('transposed', [False, True])
def test_yolo_decoder_undoes_letterbox(transposed):
    spec = InputSpec(width=640, height=640, resize='letterbox')
    decoder = DecoderSpec(type='yolo', iou_threshold=0.7)
    nc, n = 80, 6
    table = np.zeros((4 + nc, n), np.float32)
    # object 0: class 16 (dog) at input cx=320, cy=320, w=200, h=100; object 1 duplicates it a bit lower scored
    table[:4, 0] = [320, 320, 200, 100]
    table[4 + 16, 0] = 0.9
    table[:4, 1] = [322, 320, 200, 100]
    table[4 + 16, 1] = 0.6
    table[:4, 2] = [100, 200, 40, 40]
    table[4 + 0, 2] = 0.3
    raw = table.T[None] if transposed else table[None]
    transform = plan_resize(1280, 640, spec)  # scale 0.5, pad_y 160
    det = decode_detections({'output0': raw}, decoder, spec, transform, score_threshold=0.25, max_detections=300,
                            num_classes=nc)
    assert det.class_ids.tolist() == [16, 0]
    np.testing.assert_allclose(det.boxes[0], [(220) * 2, (270 - 160) * 2, 420 * 2, (370 - 160) * 2], atol=1e-3)
    np.testing.assert_allclose(det.scores, [0.9, 0.3], rtol=1e-6)


def test_scores_boxes_decoder_for_jetson_inference_ssd():
    spec = InputSpec(width=300, height=300)
    decoder = DecoderSpec(type='ssd_scores_boxes', outputs={'scores': 'scores', 'boxes': 'boxes'},
                          background_class=0, iou_threshold=0.45)
    scores = np.array([[[0.1, 0.9, 0.0], [0.95, 0.05, 0.0], [0.2, 0.1, 0.7]]], np.float32)
    boxes = np.array([[[0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1], [0.5, 0.5, 1.0, 1.0]]], np.float32)
    det = decode_detections({'scores': scores, 'boxes': boxes}, decoder, spec, plan_resize(200, 100, spec),
                            score_threshold=0.5, max_detections=100)
    assert det.class_ids.tolist() == [1, 2]
    np.testing.assert_allclose(det.boxes, [[20, 20, 60, 40], [100, 50, 200, 100]], atol=1e-3)


def test_detection_out_rows():
    spec = InputSpec(width=300, height=300)
    rows = np.array([[[[0, 18, 0.88, 0.1, 0.2, 0.5, 0.6], [0, 1, 0.3, 0, 0, 1, 1], [0, 3, 0.95, 0, 0, 0.5, 0.5]]]],
                    np.float32)
    det = decode_detections({'detection_out': rows}, DecoderSpec(type='detection_out'), spec,
                            plan_resize(1000, 500, spec), score_threshold=0.5, max_detections=100)
    assert det.class_ids.tolist() == [3, 18]
    np.testing.assert_allclose(det.boxes[1], [100, 100, 500, 300], atol=1e-3)


def test_probability_mask_is_resized_back_without_letterbox_padding():
    spec = InputSpec(width=8, height=8, resize='letterbox')
    transform = plan_resize(16, 8, spec)  # content rows 2..6
    prob = np.zeros((1, 8, 8, 1), np.float32)
    prob[0, 2:6, 4:] = 0.9  # right half of the content
    mask = decode_mask({'m': prob}, DecoderSpec(type='mask_probability', mask_class_id=1), spec, transform)
    assert mask.shape == (8, 16) and mask.dtype == np.uint8
    assert mask[:, 10:].all() and not mask[:, :6].any()


def test_argmax_mask_nchw_and_nhwc():
    spec = InputSpec(width=4, height=4)
    scores = np.zeros((1, 3, 4, 4), np.float32)
    scores[0, 2, :2] = 1
    scores[0, 1, 2:] = 1
    transform = plan_resize(8, 8, spec)
    for layout, raw in (('NCHW', scores), ('NHWC', scores.transpose(0, 2, 3, 1))):
        mask = decode_mask({'m': raw}, DecoderSpec(type='mask_argmax', layout=layout), spec, transform)
        assert (mask[:4] == 2).all() and (mask[4:] == 1).all()


def test_filtered_applies_threshold_classes_and_limit_best_first():
    det = Detections(np.zeros((4, 4), np.float32), np.array([0.6, 0.9, 0.4, 0.8], np.float32),
                     np.array([1, 2, 1, 1], np.int32))
    assert det.filtered(score_threshold=0.5).scores.tolist() == pytest.approx([0.9, 0.8, 0.6])
    assert det.filtered(score_threshold=0.5, class_ids=frozenset({1})).scores.tolist() == pytest.approx([0.8, 0.6])
    assert len(det.filtered(max_detections=1)) == 1
