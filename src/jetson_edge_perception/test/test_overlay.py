"""Overlay drawing: boxes and mask tint land where the results are, the input is not modified."""

import numpy as np

from jetson_edge_perception.overlay import class_colour, draw_overlay
from jetson_edge_perception.postprocess import Detections


def test_overlay_draws_box_and_tints_mask_without_touching_input():
    image = np.zeros((100, 200, 3), np.uint8)
    mask = np.zeros((100, 200), np.uint8)
    mask[60:, 150:] = 1
    det = Detections(np.array([[10, 20, 90, 80]], np.float32), np.array([0.9], np.float32), np.array([18], np.int32))
    out = draw_overlay(image, detections=det, mask=mask, label=lambda c: 'dog')
    assert not image.any()
    assert tuple(out[50, 10]) == class_colour(18)  # left edge of the box
    assert out[90, 190].any() and not out[5, 190].any()
    assert class_colour(1) != class_colour(18)
