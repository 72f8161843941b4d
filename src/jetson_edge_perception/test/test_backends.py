"""Backend interface behaviour: explicit providers, clear failures, context management."""

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
    card, options = selfie
    from dataclasses import replace
    cuda = replace(options, onnxruntime_providers=('CUDAExecutionProvider', 'CPUExecutionProvider'))
    with pytest.raises(BackendUnavailableError, match='has no CUDAExecutionProvider .*available: '):
        create_backend('onnxruntime', card, options=cuda).activate()


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


def test_opencv_cuda_target_without_cuda_fails_plainly(selfie):
    card, options = selfie
    from dataclasses import replace
    with pytest.raises(BackendUnavailableError, match='needs OpenCV built with CUDA'):
        create_backend('opencv_dnn', card, options=replace(options, opencv_target='cuda')).activate()


def test_jetson_inference_absent_fails_plainly(tmp_path, monkeypatch):
    (tmp_path / 'labels.txt').write_text('BACKGROUND\nthing\n')
    monkeypatch.setenv('JETSON_EDGE_MODEL_PATH', str(tmp_path))
    card = load_card(CARDS / 'ssd_mobilenet_v1_jetson_inference.yaml')
    with pytest.raises(BackendUnavailableError, match='^jetson-inference is not installed: '):
        create_backend('jetson_inference', card).activate()


def test_availability_imports_nothing_heavy():
    import sys
    table = availability()
    assert table['onnxruntime'][0] and table['opencv_dnn'][0]
    assert not table['tensorrt'][0] and not table['jetson_inference'][0]
    assert 'tensorrt' not in sys.modules


def test_unknown_backend_name():
    with pytest.raises(BackendError, match='unknown backend'):
        create_backend('tflite_runtime', load_card(CARDS / 'selfie_segmentation_onnx.yaml'))
