"""Depth model output -> the published depth image, and the colourised panel of the overlay.

Pure numpy/OpenCV shared by every backend. `decode_depth` applies the card's `depth` section
(scale, offset, valid range) to the one-channel output, removes letterbox padding and resizes to the
camera frame or keeps the model's resolution. Values the model gives as NaN or infinity stay NaN
(REP 118's "no measurement") and are counted, never clipped into a plausible distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import cv2
import numpy as np

from .errors import BackendError
from .geometry import Transform
from .model_card import DecoderSpec, DepthSpec, InputSpec

RESOLUTIONS = ('camera', 'model')


@dataclass(frozen=True)
class DepthMap:
    """A float32 (H, W) depth image in the card's unit, and how many of its pixels the model left invalid."""

    values: np.ndarray
    invalid: int


def depth_output(outputs: Mapping[str, np.ndarray], decoder: DecoderSpec) -> np.ndarray:
    """The (h, w) raw depth field among the model's outputs (`outputs.depth` of the card, or the only one)."""
    name = decoder.outputs.get('depth')
    if name is None:
        if len(outputs) != 1:
            raise BackendError(f'depth_map needs outputs.depth in the model card; outputs are {list(outputs)}')
        raw = next(iter(outputs.values()))
    elif name not in outputs:
        raise BackendError(f'model output {name!r} (depth) missing; the backend returned {list(outputs)}')
    else:
        raw = outputs[name]
    field = np.squeeze(raw)
    if field.ndim != 2:
        raise BackendError(f'depth_map expects one channel, got output shape {raw.shape}')
    return field


def decode_depth(field: np.ndarray, depth: DepthSpec, spec: InputSpec, transform: Transform, *,
                 resolution: str = 'camera') -> DepthMap:
    """The depth image of one frame from the raw (h, w) field at the network input's size.

    `resolution`: `camera` resizes to the source frame (bilinear), `model` keeps the field's own
    pixels (letterbox padding removed).
    """
    if resolution not in RESOLUTIONS:
        raise ValueError(f'depth resolution {resolution!r} is not one of {", ".join(RESOLUTIONS)}')
    if field.shape != (spec.height, spec.width):
        # depthNet and some exports give the field at another size than the input: scale the region plan.
        transform = Transform(transform.src_w, transform.src_h,
                              transform.scale_x * field.shape[1] / spec.width,
                              transform.scale_y * field.shape[0] / spec.height,
                              transform.pad_x * field.shape[1] / spec.width,
                              transform.pad_y * field.shape[0] / spec.height)
    rows, cols = transform.content_region(field.shape[1], field.shape[0])
    values = np.ascontiguousarray(field[rows, cols], np.float32)
    if resolution == 'camera' and values.shape != (transform.src_h, transform.src_w):
        values = cv2.resize(values, (transform.src_w, transform.src_h), interpolation=cv2.INTER_LINEAR)
    elif np.shares_memory(values, field):
        values = values.copy()  # never hand out the backend's reused buffer
    if depth.scale != 1.0 or depth.offset != 0.0:
        cv2.addWeighted(values, depth.scale, values, 0.0, depth.offset, dst=values)
    finite = np.isfinite(values)
    invalid = int(values.size - np.count_nonzero(finite))
    np.clip(values, depth.min_value, depth.max_value, out=values)
    if invalid:
        values[~finite] = np.nan
    return DepthMap(values, invalid)


def depth_panel(values: np.ndarray, depth: DepthSpec, height: int) -> np.ndarray:
    """A BGR panel `height` pixels high showing `values` colourised (near warm, far cool) with its range.

    The colour scale is the card's valid range, fixed, so a colour means the same distance in every frame.
    """
    width = max(1, round(values.shape[1] * height / values.shape[0]))
    scaled = cv2.resize(values, (width, height), interpolation=cv2.INTER_LINEAR)
    span = depth.max_value - depth.min_value
    unit = np.clip((scaled - depth.min_value) / span, 0.0, 1.0)
    nearness = unit if depth.inverse else 1.0 - unit
    grey = np.nan_to_num(nearness * 255.0, nan=0.0).astype(np.uint8)
    panel = cv2.applyColorMap(grey, cv2.COLORMAP_TURBO)
    panel[~np.isfinite(scaled)] = 0
    unit_text = ' m' if depth.kind == 'metric' else ''
    text = f'depth {depth.min_value:g}-{depth.max_value:g}{unit_text}'
    cv2.putText(panel, text, (6, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(panel, text, (6, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return panel
