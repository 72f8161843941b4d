"""vision_msgs/Detection2DArray -> foxglove.ImageAnnotations.

Each detection becomes a closed outline of its box and a label (``class_id score``) at the box's
top-left corner, every annotation stamped with the array's header stamp: the stamp of the frame
the detections came from, which is how the Image panel matches them to that frame.
"""

from __future__ import annotations

import math

from foxglove.messages import (Color, ImageAnnotations, Point2, PointsAnnotation,
                               PointsAnnotationType, TextAnnotation)

from .errors import ConversionError
from .stamps import foxglove_stamp

_OUTLINE = Color(r=0.1, g=0.9, b=0.2, a=1.0)
_TEXT = Color(r=1.0, g=1.0, b=1.0, a=1.0)
_TEXT_BACKGROUND = Color(r=0.0, g=0.0, b=0.0, a=0.6)


def box_corners(bbox) -> list[tuple[float, float]]:
    """The four corners of a BoundingBox2D (center, size, rotation theta) in pixels, clockwise
    from the top-left one for an unrotated box."""
    cx, cy = bbox.center.position.x, bbox.center.position.y
    hx, hy = bbox.size_x / 2.0, bbox.size_y / 2.0
    cos_t, sin_t = math.cos(bbox.center.theta), math.sin(bbox.center.theta)
    corners = []
    for dx, dy in ((-hx, -hy), (hx, -hy), (hx, hy), (-hx, hy)):
        corners.append((cx + dx * cos_t - dy * sin_t, cy + dx * sin_t + dy * cos_t))
    return corners


def label_of(detection) -> str:
    """``class_id score`` of the best hypothesis (empty when the detection has none)."""
    if not detection.results:
        return ''
    best = max(detection.results, key=lambda r: r.hypothesis.score)
    return f'{best.hypothesis.class_id} {best.hypothesis.score:.2f}'


def to_image_annotations(msg, *, font_size: float = 14.0, thickness: float = 2.0) -> ImageAnnotations:
    stamp = foxglove_stamp(msg.header.stamp)
    outlines, texts = [], []
    for index, detection in enumerate(msg.detections):
        corners = box_corners(detection.bbox)
        if not all(math.isfinite(v) for corner in corners for v in corner):
            raise ConversionError(f'detection {index} has a non-finite box', reason='box')
        outlines.append(PointsAnnotation(
            timestamp=stamp, type=PointsAnnotationType.LineLoop,
            points=[Point2(x=x, y=y) for x, y in corners], outline_color=_OUTLINE, thickness=thickness))
        label = label_of(detection)
        if label:
            x, y = min(c[0] for c in corners), min(c[1] for c in corners)
            texts.append(TextAnnotation(timestamp=stamp, position=Point2(x=x, y=max(y - font_size, 0.0)),
                                        text=label, font_size=font_size, text_color=_TEXT,
                                        background_color=_TEXT_BACKGROUND))
    return ImageAnnotations(points=outlines, texts=texts)
