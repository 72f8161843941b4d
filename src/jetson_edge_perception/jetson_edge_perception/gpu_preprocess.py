"""GPU preprocessing with CuPy: resize, colour order, normalization and layout in one fused kernel.

The same contract as `preprocess.Preprocessor` (same `InputSpec`, same `Transform`), but the tensor
stays on the GPU, ready for a TensorRT input binding: the only transfer is the camera frame's upload.
Bilinear sampling follows OpenCV's INTER_LINEAR pixel-centre convention; OpenCV rounds the resized
pixels to uint8 and this kernel does not, so results differ by at most about one grey level.
CuPy is imported lazily; without it `CupyPreprocessor()` raises BackendUnavailableError.
"""

from __future__ import annotations

import numpy as np

from .errors import BackendUnavailableError, FrameError
from .model_card import InputSpec
from .geometry import Transform, plan_resize

_SOURCE = r'''
extern "C" __global__ void preprocess(
    const unsigned char* src, int src_h, int src_w, int src_step, int src_c,
    float* dst, int dst_h, int dst_w,
    int x0c, int y0c, int content_w, int content_h,
    int c0, int c1, int c2, float g0, float g1, float g2, float o0, float o1, float o2,
    float pad_value, int nchw)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= dst_w || y >= dst_h) return;
    int cx = x - x0c, cy = y - y0c;
    float v0, v1, v2;
    if (cx < 0 || cy < 0 || cx >= content_w || cy >= content_h) {
        v0 = v1 = v2 = pad_value;
    } else {
        float sx = fmaxf((cx + 0.5f) * ((float)src_w / content_w) - 0.5f, 0.0f);
        float sy = fmaxf((cy + 0.5f) * ((float)src_h / content_h) - 0.5f, 0.0f);
        int xa = min((int)sx, src_w - 1), ya = min((int)sy, src_h - 1);
        int xb = min(xa + 1, src_w - 1), yb = min(ya + 1, src_h - 1);
        float fx = sx - xa, fy = sy - ya;
        const unsigned char* r0 = src + (long)ya * src_step;
        const unsigned char* r1 = src + (long)yb * src_step;
        #define SAMPLE(c) ((r0[xa*src_c+(c)]*(1.0f-fx) + r0[xb*src_c+(c)]*fx)*(1.0f-fy) + \
                           (r1[xa*src_c+(c)]*(1.0f-fx) + r1[xb*src_c+(c)]*fx)*fy)
        v0 = SAMPLE(c0); v1 = SAMPLE(c1); v2 = SAMPLE(c2);
    }
    v0 = v0 * g0 + o0; v1 = v1 * g1 + o1; v2 = v2 * g2 + o2;
    if (nchw) {
        long plane = (long)dst_h * dst_w, i = (long)y * dst_w + x;
        dst[i] = v0; dst[plane + i] = v1; dst[2 * plane + i] = v2;
    } else {
        long i = ((long)y * dst_w + x) * 3;
        dst[i] = v0; dst[i + 1] = v1; dst[i + 2] = v2;
    }
}
'''

_SOURCE_CHANNELS = {  # (encoding, colour order) -> source channel for output channels 0, 1, 2
    ('rgb8', 'RGB'): (0, 1, 2), ('rgb8', 'BGR'): (2, 1, 0), ('bgr8', 'RGB'): (2, 1, 0), ('bgr8', 'BGR'): (0, 1, 2),
    ('rgba8', 'RGB'): (0, 1, 2), ('rgba8', 'BGR'): (2, 1, 0), ('bgra8', 'RGB'): (2, 1, 0), ('bgra8', 'BGR'): (0, 1, 2),
    ('mono8', 'RGB'): (0, 0, 0), ('mono8', 'BGR'): (0, 0, 0),
}


def import_cupy() -> object:
    try:
        import cupy
    except ImportError as exc:
        raise BackendUnavailableError(f'CuPy is not installed: {exc}; pip install cupy-cuda12x (or the wheel for '
                                      f'your CUDA) to preprocess on the GPU') from exc
    return cupy


class CupyPreprocessor:
    """(H, W, C) uint8 image (numpy or CuPy) -> float32 input tensor on the GPU, plus the `Transform`."""

    def __init__(self, spec: InputSpec) -> None:
        if spec.dtype != 'float32':
            raise FrameError('dtype', f'GPU preprocessing produces float32 inputs, the card wants {spec.dtype}')
        self.cp = import_cupy()
        self.spec = spec
        std = np.asarray(spec.std, np.float64)
        self._gain = [float(g) for g in spec.scale / std]
        self._offset = [float(o) for o in -np.asarray(spec.mean, np.float64) / std]
        self._kernel = self.cp.RawKernel(_SOURCE, 'preprocess')
        shape = (1, 3, spec.height, spec.width) if spec.layout == 'NCHW' else (1, spec.height, spec.width, 3)
        self._out = self.cp.empty(shape, self.cp.float32)
        self._upload: object | None = None

    def to_device(self, image: np.ndarray) -> object:
        """Upload a host image into a reused device buffer (the one host-to-device copy per frame)."""
        cp = self.cp
        contiguous = np.ascontiguousarray(image)
        if self._upload is None or self._upload.shape != contiguous.shape:
            self._upload = cp.empty(contiguous.shape, cp.uint8)
        self._upload.set(contiguous)
        return self._upload

    def __call__(self, image: object, encoding: str) -> tuple[object, Transform]:
        """The tensor (a reused device buffer, valid until the next call) and the source transform."""
        cp = self.cp
        channels = _SOURCE_CHANNELS.get((encoding, self.spec.colour_order))
        if channels is None:
            raise FrameError('encoding', f'unsupported encoding {encoding!r}')
        device_image = image if isinstance(image, cp.ndarray) else self.to_device(image)
        if device_image.ndim == 2:
            device_image = device_image[:, :, None]
        src_h, src_w, src_c = device_image.shape
        if src_h == 0 or src_w == 0:
            raise FrameError('zero_size', f'image has zero size ({src_w}x{src_h})')
        if device_image.strides[1:] != (src_c, 1):
            device_image = cp.ascontiguousarray(device_image)
        spec = self.spec
        transform = plan_resize(src_w, src_h, spec)
        rows, cols = transform.content_region(spec.width, spec.height)
        block = (32, 8, 1)
        grid = ((spec.width + block[0] - 1) // block[0], (spec.height + block[1] - 1) // block[1], 1)
        i32, f32 = np.int32, np.float32
        self._kernel(grid, block, (
            device_image, i32(src_h), i32(src_w), i32(device_image.strides[0]), i32(src_c),
            self._out, i32(spec.height), i32(spec.width),
            i32(cols.start), i32(rows.start), i32(cols.stop - cols.start), i32(rows.stop - rows.start),
            i32(channels[0]), i32(channels[1]), i32(channels[2]),
            *(f32(g) for g in self._gain), *(f32(o) for o in self._offset),
            f32(spec.pad_value if spec.resize == 'letterbox' else 0), i32(spec.layout == 'NCHW')))
        return self._out, transform
