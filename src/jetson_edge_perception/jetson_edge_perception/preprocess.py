"""Image -> network input tensor: resize or letterbox, colour order, normalization, layout, dtype.

Pure numpy/OpenCV shared by every backend. `Preprocessor` keeps its output buffers between calls
(the returned tensor is overwritten by the next call: copy it if you keep it). `Transform` maps
coordinates in the network input back to the source image, for boxes and masks.
"""

from __future__ import annotations

import cv2
import numpy as np

from .errors import FrameError
from .geometry import Transform, plan_resize
from .model_card import InputSpec

__all__ = ['Preprocessor', 'Transform', 'as_rgb', 'plan_resize', 'to_colour_order']


def to_colour_order(image: np.ndarray, encoding: str, colour_order: str) -> np.ndarray:
    """A 3-channel view of an rgb8/bgr8/rgba8/bgra8 `image` in `colour_order` (no copy)."""
    if encoding in ('rgb8', 'bgr8'):
        if encoding[:3].upper() == colour_order:
            return image
        return image[..., ::-1]
    if encoding in ('rgba8', 'bgra8'):
        rgb = image[..., :3]
        return rgb if encoding[:3].upper() == colour_order else rgb[..., ::-1]
    raise FrameError('encoding', f'unsupported encoding {encoding!r}')


def as_rgb(image: np.ndarray, encoding: str) -> np.ndarray:
    """An RGB (H, W, 3) uint8 view (or, for mono8, a converted copy) of an image in `encoding`."""
    if encoding == 'mono8':
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2RGB)
    return to_colour_order(image, encoding, 'RGB')


_CONVERSIONS = {
    ('bgr8', 'RGB'): cv2.COLOR_BGR2RGB, ('rgb8', 'BGR'): cv2.COLOR_RGB2BGR,
    ('bgra8', 'RGB'): cv2.COLOR_BGRA2RGB, ('bgra8', 'BGR'): cv2.COLOR_BGRA2BGR,
    ('rgba8', 'RGB'): cv2.COLOR_RGBA2RGB, ('rgba8', 'BGR'): cv2.COLOR_RGBA2BGR,
}


def _cv_scalar(per_channel: np.ndarray) -> tuple[float, float, float, float]:
    """Three per-channel values as an OpenCV Scalar, a 4-tuple: OpenCV 4.x takes a 3-tuple for a
    3x1 matrix and refuses it in per-channel arithmetic (5.x reads either as a Scalar)."""
    c0, c1, c2 = np.broadcast_to(per_channel, (3,)).tolist()
    return (c0, c1, c2, 0.0)


class Preprocessor:
    """Turns (H, W, C) uint8 images into the input tensor described by an `InputSpec`.

    The image is resized first (the smallest array any later step touches), then converted with
    OpenCV, whose per-channel arithmetic is several times faster than numpy broadcasting here.
    """

    def __init__(self, spec: InputSpec) -> None:
        self.spec = spec
        std = np.asarray(spec.std, np.float64)
        self._gain = _cv_scalar(spec.scale / std)
        self._offset = _cv_scalar(-np.asarray(spec.mean, np.float64) / std)
        self._identity = all(g == 1 for g in self._gain[:3]) and all(o == 0 for o in self._offset[:3])
        self._uniform = len(set(self._gain[:3])) == 1 and len(set(self._offset[:3])) == 1
        self._dtype = np.dtype(spec.dtype)
        self._canvas = np.empty((spec.height, spec.width, 3), np.uint8)
        out_shape = (1, 3, spec.height, spec.width) if spec.layout == 'NCHW' else (1, spec.height, spec.width, 3)
        self._out = np.empty(out_shape, self._dtype)
        # float32 NHWC inputs are normalized straight into the output; others through one float32 HWC buffer.
        self._direct = spec.layout == 'NHWC' and self._dtype == np.float32
        self._hwc = self._out[0] if self._direct else np.empty((spec.height, spec.width, 3), np.float32)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self._out.shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    def resize(self, image: np.ndarray) -> tuple[np.ndarray, Transform]:
        """Resize (stretch or letterbox) a (H, W, C) uint8 image to the input size."""
        src_h, src_w = image.shape[:2]
        if src_h == 0 or src_w == 0:
            raise FrameError('zero_size', f'image has zero size ({src_w}x{src_h})')
        transform = plan_resize(src_w, src_h, self.spec)
        spec = self.spec
        if spec.resize == 'stretch':
            if (src_w, src_h) == (spec.width, spec.height):
                return image, transform
            return cv2.resize(image, (spec.width, spec.height), interpolation=cv2.INTER_LINEAR), transform
        rows, cols = transform.content_region(spec.width, spec.height)
        canvas = self._canvas if image.shape[2] == 3 else np.empty((spec.height, spec.width, image.shape[2]), np.uint8)
        canvas.fill(spec.pad_value)
        canvas[rows, cols] = cv2.resize(image, (cols.stop - cols.start, rows.stop - rows.start),
                                        interpolation=cv2.INTER_LINEAR)
        return canvas, transform

    def __call__(self, image: np.ndarray, encoding: str) -> tuple[np.ndarray, Transform]:
        """The input tensor (an internal buffer, valid until the next call) and the source transform."""
        if encoding == 'mono8':
            image = cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2RGB)
            encoding = 'rgb8'
        if encoding not in ('rgb8', 'bgr8', 'rgba8', 'bgra8'):
            raise FrameError('encoding', f'unsupported encoding {encoding!r}')
        resized, transform = self.resize(image)
        code = _CONVERSIONS.get((encoding, self.spec.colour_order))
        pixels = cv2.cvtColor(resized, code) if code is not None else resized
        if self._dtype == np.uint8:
            hwc = pixels
        else:
            # uint8 -> float32 and the affine normalization in as few passes as OpenCV allows.
            hwc = self._hwc
            if self._identity:
                np.copyto(hwc, pixels)
            elif self._uniform:
                cv2.addWeighted(pixels, self._gain[0], pixels, 0.0, self._offset[0], dst=hwc, dtype=cv2.CV_32F)
            else:
                cv2.multiply(pixels, self._gain, dst=hwc, dtype=cv2.CV_32F)
                cv2.add(hwc, self._offset, dst=hwc)
        if self.spec.layout == 'NCHW':
            self._out[0] = hwc.transpose(2, 0, 1)
        elif not (self._direct and hwc is self._hwc):
            self._out[0] = hwc
        return self._out, transform
