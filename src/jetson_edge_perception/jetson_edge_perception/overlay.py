"""Draw detections and a class mask onto a BGR image for the `perception/overlay` topic (pure OpenCV);
a depth map goes beside it as a colourised panel."""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from .depth import depth_panel
from .model_card import DepthSpec
from .postprocess import Detections


def class_colour(class_id: int) -> tuple[int, int, int]:
    """A stable, well-separated BGR colour per class id."""
    hue = (class_id * 47) % 180
    bgr = cv2.cvtColor(np.uint8([[[hue, 200, 255]]]), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


def draw_overlay(bgr: np.ndarray, *, detections: Detections | None = None, mask: np.ndarray | None = None,
                 label: Callable[[int], str] = str, mask_alpha: float = 0.45, depth: np.ndarray | None = None,
                 depth_spec: DepthSpec | None = None) -> np.ndarray:
    """A new BGR image: `bgr` with non-zero mask classes tinted and each detection boxed and labelled;
    with `depth` (and its card's `depth_spec`), the colourised depth panel to its right."""
    out = np.ascontiguousarray(bgr).copy()
    if mask is not None and mask.shape[:2] == out.shape[:2]:
        for class_id in np.unique(mask):
            if class_id == 0:
                continue
            region = mask == class_id
            tint = np.array(class_colour(int(class_id)), np.float32)
            out[region] = (out[region] * (1 - mask_alpha) + tint * mask_alpha).astype(np.uint8)
    if detections is not None:
        for box, score, class_id in zip(detections.boxes, detections.scores, detections.class_ids):
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            colour = class_colour(int(class_id))
            cv2.rectangle(out, (x0, y0), (x1, y1), colour, 2)
            text = f'{label(int(class_id))} {score:.2f}'
            (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
            ty = max(y0, th + 4)
            cv2.rectangle(out, (x0, ty - th - 4), (x0 + tw + 4, ty), colour, -1)
            cv2.putText(out, text, (x0 + 2, ty - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    if depth is not None and depth_spec is not None:
        out = np.hstack([out, depth_panel(depth, depth_spec, out.shape[0])])
    return out
