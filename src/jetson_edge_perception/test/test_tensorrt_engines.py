"""TensorRT engine lifecycle with the toolkit faked at its module seam (TensorRT cannot exist here).

Proves: the key covers model hash, TensorRT version, GPU, precision and DLA core; a warm cache never
rebuilds; corrupt or mismatched cache files are rebuilt, not fatal; while an engine builds in the
background the next backend serves, and the runner switches when the engine is ready; with TensorRT
the only backend the worker warns while the engine builds, then serves. Below the seam, against the fake
TensorRT module and CUDA binding: dynamic-batch engines are sized from their optimization profile and
shaped per call; INT8 calibration in the build thread runs in the toolkit's CUDA context.
"""

import functools
import json
import sys
import threading
from types import SimpleNamespace

import cv2

import numpy as np
import pytest
from jetson_edge_common.diagnostics import Level
from jetson_edge_common.testing import wait_for

from conftest import CARDS
from fake_tensorrt import MAGIC, FakeCuda, FakeCudaError, FakeState, FakeToolkit, dynamic_batch_onnx, fake_tensorrt_module
from jetson_edge_perception.backends import BackendOptions, create_backend
from jetson_edge_perception.backends import tensorrt_toolkit
from jetson_edge_perception.backends.engine_cache import BuildSettings, EngineCache, EngineManager
from jetson_edge_perception.backends.tensorrt_backend import TensorRTBackend
from jetson_edge_perception.errors import BackendError, BackendUnavailableError
from jetson_edge_perception.model_card import load_card
from jetson_edge_perception.pipeline import ModelPipeline
from jetson_edge_perception.runner import open_runner
from jetson_edge_perception.worker import PerceptionWorker, WorkerConfig


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


def _bgr8(image):
    stamp = SimpleNamespace(sec=0, nanosec=0)
    return SimpleNamespace(header=SimpleNamespace(stamp=stamp, frame_id='camera'), encoding='bgr8', is_bigendian=0,
                           height=image.shape[0], width=image.shape[1], step=image.shape[1] * 3, data=image.tobytes())


def _tensorrt_only_worker(models_dir, tmp_path, published):
    options = BackendOptions(search_dirs=(str(models_dir),), engine_cache_dir=tmp_path / 'engines')
    config = WorkerConfig(detection_card='ssd_mobilenet_v2_coco_onnx', backend_order=('tensorrt',), options=options)
    return PerceptionWorker(config, publish=lambda job, result: published.append(result), log=lambda _: None)


def test_tensorrt_alone_warns_while_the_engine_builds_then_serves(fake, models_dir, tmp_path, images_dir):
    fake.release_build = threading.Event()
    published = []
    worker = _tensorrt_only_worker(models_dir, tmp_path, published)
    worker.start()
    try:
        wait_for(lambda: worker.state == 'building', 60, 'the build to start', interval=0.02)
        level, message, values = worker.status()
        assert level == Level.WARN and message.startswith('building engine for ssd_mobilenet_v2_coco_onnx (')
        assert values['engine_build_s'] >= 0
        fake.release_build.set()
        wait_for(lambda: worker.state == 'ready', 60, lambda: f'ready ({worker.message})',
                 interval=0.02)
        assert worker.status()[0] == Level.OK and worker.models[0].runner.backend_name == 'tensorrt'
        worker.offer(_bgr8(cv2.imread(str(images_dir / 'dog.jpg'))))
        wait_for(lambda: published, 60, 'a publish', interval=0.02)
        card = worker.models[0].card
        assert sorted(card.label(int(c)) for c in published[0].detections.class_ids) == ['bicycle', 'car', 'dog', 'truck']
    finally:
        worker.close()


def test_tensorrt_alone_with_a_failing_build_is_an_error_with_the_reason(fake, models_dir, tmp_path):
    fake.fail_build = 'TensorRT failed to build an engine (unsupported op)'
    worker = _tensorrt_only_worker(models_dir, tmp_path, [])
    worker.start()
    try:
        wait_for(lambda: worker.state == 'error', 60, 'the build to fail', interval=0.02)
        level, message, _ = worker.status()
        assert level == Level.ERROR and 'engine build failed' in message and 'unsupported op' in message
    finally:
        worker.close()


# --- The toolkit's own TensorRT and CUDA calls, against fake_tensorrt_module and FakeCuda -------------

@pytest.fixture
def trt_api(monkeypatch):
    cuda = FakeCuda()
    calibration_threads = []
    trt = fake_tensorrt_module(cuda, calibration_log=calibration_threads)
    monkeypatch.setitem(sys.modules, 'tensorrt', trt)
    monkeypatch.setattr(tensorrt_toolkit, 'open_cuda', lambda: cuda)
    return SimpleNamespace(cuda=cuda, trt=trt, calibration_threads=calibration_threads)


def _engine_with_profile(trt, onnx, low, opt, high):
    """An engine built elsewhere (trtexec --minShapes/--optShapes/--maxShapes), as a card of format engine ships it."""
    builder = trt.Builder(None)
    network = builder.create_network()
    assert trt.OnnxParser(network, None).parse(onnx.read_bytes())
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    profile.set_shape('x', low, opt, high)
    config.add_optimization_profile(profile)
    return builder.build_serialized_network(network, config)


def test_dynamic_batch_engine_sizes_buffers_from_its_profile_and_sets_shapes_per_call(trt_api, tmp_path):
    onnx = dynamic_batch_onnx(tmp_path / 'dynamic.onnx')
    engine = _engine_with_profile(trt_api.trt, onnx, (1, 3, 4, 4), (4, 3, 4, 4), (8, 3, 4, 4))
    runner = tensorrt_toolkit.TensorRTToolkit().load(engine)
    assert runner.outputs['y'][0].shape == (8, 3, 4, 4) and runner.outputs['z'][0].shape == (8, 3, 1, 1)
    rng = np.random.default_rng(0)
    for batch in (1, 5, 8, 2):
        x = rng.standard_normal((batch, 3, 4, 4), dtype=np.float32)
        out = runner.infer({'x': x})
        assert out['y'].shape == (batch, 3, 4, 4) and np.array_equal(out['y'], np.maximum(x, 0))
        assert np.allclose(out['z'][:, :, 0, 0], x.mean(axis=(2, 3)), atol=1e-6)
    with pytest.raises(BackendError, match=r'\(9, 3, 4, 4\) is outside the engine.s optimization profile'):
        runner.infer({'x': np.zeros((9, 3, 4, 4), np.float32)})
    runner.close()


def test_dynamic_batch_onnx_builds_with_a_batch_of_one_and_runs(trt_api, tmp_path):
    onnx = dynamic_batch_onnx(tmp_path / 'dynamic.onnx')
    toolkit = tensorrt_toolkit.TensorRTToolkit()
    runner = toolkit.load(toolkit.build(onnx, BuildSettings(precision='fp16')))
    x = np.ones((1, 3, 4, 4), np.float32)
    assert np.array_equal(runner.infer({'x': x})['y'], x)
    with pytest.raises(BackendError, match='outside the engine.s optimization profile'):
        runner.infer({'x': np.ones((2, 3, 4, 4), np.float32)})
    runner.close()


def test_fake_cuda_refuses_calls_from_a_thread_without_its_context(trt_api):
    errors = []

    def allocate(*, push):
        try:
            if push:
                with trt_api.cuda.current():
                    trt_api.cuda.free(trt_api.cuda.malloc(64))
            else:
                trt_api.cuda.malloc(64)
        except FakeCudaError as exc:
            errors.append(str(exc))

    for push in (False, True):
        thread = threading.Thread(target=allocate, kwargs={'push': push})
        thread.start()
        thread.join()
    assert errors == ['cuMemAlloc failed: invalid device context']


def test_int8_calibration_in_the_build_thread_runs_in_the_toolkits_context(trt_api, models_dir, images_dir, tmp_path):
    card = load_card(CARDS / 'selfie_segmentation_onnx.yaml')
    toolkit = tensorrt_toolkit.TensorRTToolkit(input_spec=card.input)  # its context is current in this thread only
    settings = BuildSettings(precision='int8', calibration_images=images_dir, calibration_batch_size=2,
                             calibration_max_images=4, calibration_cache=tmp_path / 'selfie.int8.calibration')
    outcome = {}

    def build():
        try:
            outcome['engine'] = toolkit.build(models_dir / 'selfie_segmentation.onnx', settings)
        except Exception as exc:
            outcome['error'] = exc

    thread = threading.Thread(target=build, name='selfie-engine-build')
    thread.start()
    thread.join(120)
    assert 'error' not in outcome, outcome.get('error')
    assert outcome['engine'].startswith(MAGIC)
    assert trt_api.calibration_threads == ['selfie-engine-build'] * 2  # 4 images in batches of 2
    assert settings.calibration_cache.read_bytes() == b'fake calibration table'
