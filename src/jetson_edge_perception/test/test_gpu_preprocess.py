"""GPU preprocessing (CuPy) matches the CPU path; skipped where CuPy or a GPU is absent."""

import numpy as np
import pytest

from jetson_edge_perception.model_card import InputSpec

cp = pytest.importorskip('cupy', reason='CuPy is not installed (GPU preprocessing is optional)')


@pytest.fixture(scope='module', autouse=True)
def _gpu():
    try:
        cp.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CuPy installed but no driver/GPU
        pytest.skip(f'no CUDA device: {exc}')


@pytest.mark.parametrize('spec', [
    InputSpec(width=300, height=300, layout='NHWC', scale=1 / 255, mean=(0.5,) * 3, std=(0.5,) * 3),
    InputSpec(width=640, height=640, layout='NCHW', resize='letterbox', scale=1 / 255),
    InputSpec(width=320, height=320, layout='NCHW', colour_order='BGR', scale=1 / 255,
              mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
], ids=['ssd', 'yolo_letterbox', 'imagenet_bgr'])
@pytest.mark.parametrize('encoding', ['bgr8', 'rgba8'])
def test_gpu_matches_cpu_within_a_grey_level(spec, encoding):
    from jetson_edge_perception.gpu_preprocess import CupyPreprocessor
    from jetson_edge_perception.preprocess import Preprocessor
    rng = np.random.default_rng(1)
    # smooth content: bilinear rounding differences stay small, structure still checks the geometry
    base = rng.integers(0, 256, (12, 16, 4), dtype=np.uint8)
    import cv2
    image = cv2.resize(base, (800, 600), interpolation=cv2.INTER_CUBIC)
    if encoding == 'bgr8':
        image = np.ascontiguousarray(image[..., :3])
    cpu, cpu_t = Preprocessor(spec)(image, encoding)
    gpu, gpu_t = CupyPreprocessor(spec)(image, encoding)
    assert gpu_t == cpu_t and gpu.shape == cpu.shape
    gain = spec.scale / min(spec.std)
    assert float(np.abs(cp.asnumpy(gpu) - cpu).max()) <= 1.01 * gain
