"""TensorRT engine lifecycle with the toolkit faked at its module seam (TensorRT cannot exist here).

Proves: the key covers model hash, TensorRT version, GPU, precision and DLA core; a warm cache never
rebuilds; corrupt or mismatched cache files are rebuilt, not fatal; while an engine builds in the
background the next backend serves, and the runner switches when the engine is ready.
"""

import functools
import json
import sys
import threading

import cv2

import pytest

from conftest import CARDS
from fake_tensorrt import MAGIC, FakeState, FakeToolkit
from jetson_edge_perception.backends import BackendOptions, create_backend
from jetson_edge_perception.backends.engine_cache import BuildSettings, EngineCache, EngineManager
from jetson_edge_perception.backends.tensorrt_backend import TensorRTBackend
from jetson_edge_perception.errors import BackendError, BackendUnavailableError
from jetson_edge_perception.model_card import load_card
from jetson_edge_perception.pipeline import ModelPipeline
from jetson_edge_perception.runner import open_runner


@pytest.fixture
def fake(monkeypatch):
    state = FakeState()
    monkeypatch.setattr(TensorRTBackend, 'toolkit_factory', functools.partial(FakeToolkit, state))
    monkeypatch.setattr(TensorRTBackend, 'available', classmethod(lambda cls: (True, 'fake tensorrt')))
    return state


@pytest.fixture
def selfie(models_dir, tmp_path):
    card = load_card(CARDS / 'selfie_segmentation_onnx.yaml')
    options = BackendOptions(search_dirs=(str(models_dir),), engine_cache_dir=tmp_path / 'engines')
    return card, options


def test_without_tensorrt_every_entry_point_says_so(tmp_path, selfie, monkeypatch):
    monkeypatch.setitem(sys.modules, 'tensorrt', None)  # absent, even on a Jetson that has it
    card, options = selfie
    ok, why = TensorRTBackend.available()
    assert not ok and 'TensorRT is not installed' in why
    with pytest.raises(BackendUnavailableError, match='^TensorRT is not installed: '):
        create_backend('tensorrt', card, options=options).activate()


def _manager(tmp_path, state):
    return EngineManager(EngineCache(tmp_path / 'cache'), FakeToolkit(state), log=lambda _: None)


def test_key_changes_with_every_part_and_only_then_rebuilds(tmp_path):
    state = FakeState()
    model = tmp_path / 'm.onnx'
    model.write_bytes(b'model-a')
    manager = _manager(tmp_path, state)
    fp16 = BuildSettings(precision='fp16')
    path, key = manager.get_or_build(model, fp16)
    assert manager.build_count == 1 and path.exists()
    assert manager.get_or_build(model, BuildSettings(precision='fp16', workspace_mb=64))[1] == key
    assert manager.build_count == 1  # warm cache: no rebuild
    keys = {key.digest}
    for change in (lambda: manager.get_or_build(model, BuildSettings(precision='int8')),
                   lambda: manager.get_or_build(model, BuildSettings(precision='fp16', dla_core=0)),
                   lambda: setattr(state, 'version', '10.4.0') or manager.get_or_build(model, fp16),
                   lambda: setattr(state, 'gpu', 'Xavier sm_72') or manager.get_or_build(model, fp16),
                   lambda: (model.write_bytes(b'model-b'), manager.get_or_build(model, fp16))[1]):
        before = manager.build_count
        keys.add(change()[1].digest)
        assert manager.build_count == before + 1
    assert len(keys) == 6
    assert len(list((tmp_path / 'cache').glob('*.engine'))) == 6  # distinct keys live side by side


@pytest.mark.parametrize('damage', ['truncate_engine', 'garbage_sidecar', 'sidecar_for_other_key', 'no_sidecar'])
def test_damaged_cache_is_rebuilt_not_fatal(tmp_path, damage):
    state = FakeState()
    model = tmp_path / 'm.onnx'
    model.write_bytes(b'model')
    manager = _manager(tmp_path, state)
    path, key = manager.get_or_build(model, BuildSettings())
    sidecar = path.with_suffix('.engine.json')
    if damage == 'truncate_engine':
        path.write_bytes(path.read_bytes()[:5])
    elif damage == 'garbage_sidecar':
        sidecar.write_text('{not json')
    elif damage == 'sidecar_for_other_key':
        meta = json.loads(sidecar.read_text())
        meta['key']['tensorrt_version'] = '8.5.2'
        sidecar.write_text(json.dumps(meta))
    else:
        sidecar.unlink()
    assert manager.cache.lookup(key)[0] is None
    path2, _ = manager.get_or_build(model, BuildSettings())
    assert manager.build_count == 2 and manager.cache.lookup(key)[0] == path2
    assert path2.read_bytes().startswith(MAGIC)


def test_backend_builds_once_then_loads_from_cache(fake, selfie, images_dir):
    card, options = selfie
    image = cv2.imread(str(images_dir / 'person.jpg'))
    for _ in range(2):
        with create_backend('tensorrt', card, options=options) as backend:
            mask = ModelPipeline(card, backend).process(image, 'bgr8').mask
            assert 'tensorrt 10.3.0 [fp16' in backend.description
    assert fake.builds == [('selfie_segmentation.onnx', 'fp16')]
    assert mask[100:373, 186:271].mean() > 0.3


def test_engine_that_does_not_deserialize_is_rebuilt(fake, selfie):
    card, options = selfie
    with create_backend('tensorrt', card, options=options) as backend:
        engine_file = backend._engine_file
    # A valid cache entry whose bytes this TensorRT rejects (e.g. written by a different build of the
    # same version): the sidecar hash matches, deserialization fails.
    bogus = b'XXXXXXXX' + engine_file.read_bytes()[8:]
    engine_file.write_bytes(bogus)
    meta = json.loads(engine_file.with_suffix('.engine.json').read_text())
    import hashlib
    meta['engine_sha256'] = hashlib.sha256(bogus).hexdigest()
    engine_file.with_suffix('.engine.json').write_text(json.dumps(meta))
    with create_backend('tensorrt', card, options=options) as backend:
        assert backend.active
    assert len(fake.builds) == 2


def test_precision_from_profile_overrides_card(fake, selfie):
    card, options = selfie
    from dataclasses import replace
    with create_backend('tensorrt', card, options=replace(options, precision='fp32')) as backend:
        assert '[fp32' in backend.description
    assert fake.builds[-1][1] == 'fp32'


def _detect(runner, card, image):
    det = ModelPipeline(card, runner).process(image, 'bgr8').detections
    return sorted(card.label(int(c)) for c in det.class_ids)


def test_background_build_serves_from_next_backend_then_switches(fake, models_dir, tmp_path, images_dir):
    card = load_card(CARDS / 'ssd_mobilenet_v2_coco_onnx.yaml')
    options = BackendOptions(search_dirs=(str(models_dir),), engine_cache_dir=tmp_path / 'engines')
    fake.release_build = threading.Event()
    log = []
    image = cv2.imread(str(images_dir / 'dog.jpg'))
    with open_runner(card, order=['tensorrt', 'onnxruntime'], options=options, log=log.append) as runner:
        assert runner.backend_name == 'onnxruntime'
        assert 'TensorRT engine building' in runner.description
        assert _detect(runner, card, image) == ['bicycle', 'car', 'dog', 'truck']
        assert [(a.backend, a.outcome) for a in runner.attempts] == [('tensorrt', 'building'), ('onnxruntime', 'serving')]
        fake.release_build.set()
        assert runner.pending.wait(30)
        assert _detect(runner, card, image) == ['bicycle', 'car', 'dog', 'truck']
        assert runner.backend_name == 'tensorrt' and runner.switches == 1
    assert any('switched from onnxruntime' in line for line in log)
    # Next start: the engine is cached, TensorRT serves at once, nothing builds.
    with open_runner(card, order=['tensorrt', 'onnxruntime'], options=options, log=log.append) as runner:
        assert runner.backend_name == 'tensorrt' and runner.pending is None
    assert len(fake.builds) == 1


def test_failed_background_build_keeps_serving_and_says_why(fake, selfie):
    card, options = selfie
    fake.fail_build = 'TensorRT failed to build an engine (unsupported op)'
    log = []
    runner = open_runner(card, order=['tensorrt', 'onnxruntime'], options=options, log=log.append)
    assert runner.pending.wait(30)
    runner.infer({'input_1': __import__('numpy').zeros((1, 256, 256, 3), 'float32')})
    assert runner.backend_name == 'onnxruntime'
    assert runner.attempts[-1].outcome == 'failed' and 'unsupported op' in runner.attempts[-1].reason
    assert any('build failed' in line for line in log)
    runner.close()


def test_no_backend_at_all_lists_every_reason(selfie):
    card, options = selfie
    from dataclasses import replace
    only_gpu = replace(card, backends=('tensorrt', 'jetson_inference'))
    with pytest.raises(BackendError) as info:
        open_runner(only_gpu, options=options, log=lambda _: None)
    assert 'tensorrt: TensorRT is not installed' in str(info.value)
    assert 'jetson_inference: jetson-inference is not installed' in str(info.value)
