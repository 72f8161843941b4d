"""Where the network input sits in the source image: the resize plan shared by CPU and GPU preprocessing.

Pure numpy (no OpenCV), so the GPU path imports it on machines without OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model_card import InputSpec


@dataclass(frozen=True)
class Transform:
    """Source image (src_w x src_h) -> network input: x_in = x_src * scale_x + pad_x (same for y)."""

    src_w: int
    src_h: int
    scale_x: float
    scale_y: float
    pad_x: float = 0.0
    pad_y: float = 0.0

    def boxes_to_source(self, boxes: np.ndarray) -> np.ndarray:
        """Map (N, 4) x0, y0, x1, y1 boxes in input pixels to source pixels, clipped to the image."""
        out = np.empty_like(boxes, dtype=np.float32)
        out[:, 0::2] = (boxes[:, 0::2] - self.pad_x) / self.scale_x
        out[:, 1::2] = (boxes[:, 1::2] - self.pad_y) / self.scale_y
        np.clip(out[:, 0::2], 0, self.src_w, out=out[:, 0::2])
        np.clip(out[:, 1::2], 0, self.src_h, out=out[:, 1::2])
        return out

    def content_region(self, in_w: int, in_h: int) -> tuple[slice, slice]:
        """Rows and columns of the network input that hold image content (excludes letterbox padding)."""
        x0 = int(round(self.pad_x))
        y0 = int(round(self.pad_y))
        x1 = min(in_w, int(round(self.pad_x + self.src_w * self.scale_x)))
        y1 = min(in_h, int(round(self.pad_y + self.src_h * self.scale_y)))
        return slice(y0, max(y1, y0 + 1)), slice(x0, max(x1, x0 + 1))


def plan_resize(src_w: int, src_h: int, spec: InputSpec) -> Transform:
    """The transform for a source size under the spec's resize mode (stretch, or letterbox centred)."""
    if spec.resize == 'stretch':
        return Transform(src_w, src_h, spec.width / src_w, spec.height / src_h)
    ratio = min(spec.width / src_w, spec.height / src_h)
    new_w, new_h = max(1, round(src_w * ratio)), max(1, round(src_h * ratio))
    return Transform(src_w, src_h, new_w / src_w, new_h / src_h,
                     (spec.width - new_w) / 2.0, (spec.height - new_h) / 2.0)
