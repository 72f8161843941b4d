"""Backend interface behaviour: explicit providers, clear failures, context management."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import CARDS
from jetson_edge_perception.backends import BackendOptions, availability, create_backend
from jetson_edge_perception.errors import BackendError, BackendUnavailableError
from jetson_edge_perception.model_card import load_card


@pytest.fixture
def selfie(models_dir):
    return load_card(CARDS / 'selfie_segmentation_onnx.yaml'), BackendOptions(search_dirs=(str(models_dir),))


def test_onnxruntime_reports_the_providers_it_actually_uses(selfie):
    card, options = selfie
    with create_backend('onnxruntime', card, options=options) as backend:
        assert backend.providers == ('CPUExecutionProvider',)
        assert backend.description.startswith('onnxruntime ') and '[CPUExecutionProvider]' in backend.description
        out = backend.infer({'input_1': np.zeros((1, 256, 256, 3), np.float32)})
        assert out['activation_10'].shape == (1, 256, 256, 1)
    assert not backend.active


def test_onnxruntime_never_falls_back_silently_from_a_requested_gpu_provider(selfie):
    """A provider this build of ONNX Runtime lacks (whichever that is here: CUDA on a CPU
    machine, another vendor's on a Jetson) is refused, not quietly replaced by the CPU."""
    import onnxruntime
    card, options = selfie
    from dataclasses import replace
    missing = sorted(set(onnxruntime.get_all_providers()) - set(onnxruntime.get_available_providers()))
    wanted = replace(options, onnxruntime_providers=(missing[0], 'CPUExecutionProvider'))
    with pytest.raises(BackendUnavailableError, match=f'has no {missing[0]} .*available: '):
        create_backend('onnxruntime', card, options=wanted).activate()


def test_wrong_input_name_in_card_is_reported(selfie):
    card, options = selfie
    from dataclasses import replace
    bad = replace(card, input=replace(card.input, name='image'))
    with pytest.raises(BackendError, match="input.name 'image' is not an input of selfie_segmentation.onnx"):
        create_backend('onnxruntime', bad, options=options).activate()


def test_infer_before_activate_is_an_error(selfie):
    card, options = selfie
    with pytest.raises(BackendError, match='before activate'):
        create_backend('onnxruntime', card, options=options).infer({})


def test_format_the_backend_cannot_run(models_dir):
    card = load_card(CARDS / 'selfie_segmentation_tflite.yaml')
    from dataclasses import replace
    with pytest.raises(BackendError, match='runs ONNX models'):
        create_backend('onnxruntime', replace(card, backends=('onnxruntime',)), options=BackendOptions()).activate()


def test_opencv_cuda_target_without_cuda_fails_plainly(selfie, monkeypatch):
    import cv2
    card, options = selfie
    from dataclasses import replace
    if hasattr(cv2, 'cuda'):  # an OpenCV built with CUDA (a Jetson's): no GPU it can use
        monkeypatch.setattr(cv2.cuda, 'getCudaEnabledDeviceCount', lambda: 0)
    with pytest.raises(BackendUnavailableError, match='needs OpenCV built with CUDA'):
        create_backend('opencv_dnn', card, options=replace(options, opencv_target='cuda')).activate()


def test_jetson_inference_absent_fails_plainly(tmp_path, monkeypatch):
    for module in ('jetson_inference', 'jetson', 'jetson.inference', 'jetson_utils'):
        monkeypatch.setitem(sys.modules, module, None)  # absent, even on a Jetson that has it
    (tmp_path / 'labels.txt').write_text('BACKGROUND\nthing\n')
    monkeypatch.setenv('JETSON_EDGE_MODEL_PATH', str(tmp_path))
    card = load_card(CARDS / 'ssd_mobilenet_v1_jetson_inference.yaml')
    with pytest.raises(BackendUnavailableError, match='^jetson-inference is not installed: '):
        create_backend('jetson_inference', card).activate()


def test_availability_imports_nothing_heavy():
    """Asked in a fresh interpreter: no inference runtime is imported (TensorRT and CUDA take
    seconds and initialize the GPU), whether or not it is installed. (OpenCV is imported by the
    package itself, for preprocessing.)"""
    script = ('import sys; from jetson_edge_perception.backends import availability; availability(); '
              "print(sorted(m for m in ('tensorrt', 'onnxruntime', 'pycuda', 'cuda', "
              "'jetson_inference', 'jetson.inference', 'jetson_utils') if m in sys.modules))")
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '[]'


def test_unknown_backend_name():
    with pytest.raises(BackendError, match='unknown backend'):
        create_backend('tflite_runtime', load_card(CARDS / 'selfie_segmentation_onnx.yaml'))
