"""Detections as vision_msgs/Detection2D carries them: the card's label, score, box centre and size.

Pure: the node turns each `LabelledBox` into a message. vision_msgs boxes are a centre and a size
(and a rotation, always 0 here) in pixels of the image the detections belong to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .postprocess import Detections


@dataclass(frozen=True)
class LabelledBox:
    label: str
    score: float
    center_x: float
    center_y: float
    size_x: float
    size_y: float


def labelled_boxes(detections: Detections, label: Callable[[int], str]) -> list[LabelledBox]:
    """One `LabelledBox` per detection, in the detections' order; `label` maps a class id to its name."""
    return [LabelledBox(label=label(class_id), score=score, center_x=(x0 + x1) / 2, center_y=(y0 + y1) / 2,
                        size_x=x1 - x0, size_y=y1 - y0)
            for (x0, y0, x1, y1), score, class_id in zip(detections.boxes.tolist(), detections.scores.tolist(),
                                                         detections.class_ids.tolist())]
