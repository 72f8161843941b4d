"""Monocular depth: the card's depth section, decoding, the backends' agreement on real photos, cadence.

FastDepth (the real ONNX, from ../shared/fixtures or the asset cache's layout) runs on the committed
photos through the same pipeline as detection and segmentation; TensorRT runs behind its faithful fake.
"""

import functools

import cv2
import numpy as np
import pytest
from jetson_edge_common.diagnostics import Level

from conftest import CARDS
from fake_tensorrt import FakeState, FakeToolkit
from jetson_edge_perception.backends import BackendOptions
from jetson_edge_perception.backends.tensorrt_backend import TensorRTBackend
from jetson_edge_perception.depth import decode_depth, depth_output, depth_panel
from jetson_edge_perception.errors import BackendError, ModelCardError
from jetson_edge_perception.geometry import Transform, plan_resize
from jetson_edge_perception.model_card import DepthSpec, InputSpec, load_card, parse_card
from jetson_edge_perception.pipeline import ModelPipeline
from jetson_edge_perception.runner import open_runner
from jetson_edge_perception.worker import PerceptionWorker, WorkerConfig

from test_worker import Collector, _msg, _wait_ready

PHOTOS = ('dog.jpg', 'person.jpg', 'astronaut.png', 'grace_hopper.jpg')  # outdoor, then portraits


@pytest.fixture
def fastdepth(models_dir, tmp_path):
    """The card as shipped, its `asset:` file found in an asset cache laid out over the fixture."""
    (tmp_path / 'assets' / 'fastdepth').mkdir(parents=True)
    (tmp_path / 'assets' / 'fastdepth' / 'fastdepth.onnx').symlink_to(models_dir / 'fastdepth.onnx')
    options = BackendOptions(assets_dir=tmp_path / 'assets', engine_cache_dir=tmp_path / 'engines')
    return load_card(CARDS / 'fastdepth_onnx.yaml'), options


def _depth(card, options, backend, image, resolution='camera'):
    with open_runner(card, order=[backend], options=options, background_build=False, log=lambda _: None) as runner:
        assert runner.backend_name == backend
        return ModelPipeline(card, runner).process(image, 'bgr8', depth_resolution=resolution)


def test_the_fastdepth_card_is_metric_in_metres(fastdepth):
    card, _ = fastdepth
    assert card.task == 'depth' and card.depth.kind == 'metric' and card.depth.convention == 'metres from the camera'
    assert (card.input.width, card.input.height, card.input.layout) == (224, 224, 'NCHW')
    assert card.decoder.outputs == {'depth': '350'} and card.depth.min_value < 0.5 and card.depth.max_value >= 10


@pytest.mark.parametrize('change, problem', [
    ({'depth': None}, 'depth: is required'),
    ({'depth': {'kind': 'relative', 'min': 0.0, 'max': 1.0}}, 'depth.convention: is required'),
    ({'depth': {'kind': 'metric', 'min': 0.0, 'max': 5.0}}, 'a metric depth is a distance'),
    ({'depth': {'kind': 'metric', 'min': 0.5, 'max': 5.0, 'inverse': True}}, 'use kind: relative'),
    ({'depth': {'kind': 'metric', 'min': 5.0, 'max': 1.0}}, 'must be above min'),
    ({'task': 'segmentation', 'decoder': {'type': 'mask_probability'}}, 'only a depth card has this section'),
])
def test_a_depth_section_that_does_not_say_what_the_output_means_is_refused(tmp_path, change, problem):
    data = {'task': 'depth', 'file': 'x.onnx', 'format': 'onnx', 'backends': ['onnxruntime'],
            'input': {'width': 8, 'height': 8}, 'decoder': {'type': 'depth_map'},
            'depth': {'kind': 'metric', 'min': 0.1, 'max': 10.0}}
    data.update(change)
    with pytest.raises(ModelCardError, match=problem):
        parse_card(data, path=tmp_path / 'card.yaml')


def test_decoding_scales_clips_counts_invalid_and_removes_letterbox_padding():
    spec = InputSpec(width=4, height=4, resize='letterbox')
    depth = DepthSpec(kind='relative', scale=2.0, offset=1.0, min_value=0.0, max_value=20.0, convention='units')
    field = np.arange(16, dtype=np.float32).reshape(4, 4)
    field[3, 3] = np.nan
    transform = plan_resize(8, 4, spec)  # a 2:1 frame: rows 1..2 hold content, 0 and 3 are padding
    model = decode_depth(field, depth, spec, transform, resolution='model')
    assert model.values.shape == (2, 4) and model.invalid == 0
    assert model.values[0].tolist() == [9.0, 11.0, 13.0, 15.0] and model.values.max() == 20.0  # 2 * 11 + 1 clipped
    camera = decode_depth(field, depth, spec, Transform(8, 4, 0.5, 1.0), resolution='camera')
    assert camera.values.shape == (4, 8) and camera.values.dtype == np.float32 and camera.invalid > 0
    assert np.isnan(camera.values).sum() == camera.invalid
    with pytest.raises(BackendError, match='one channel'):
        depth_output({'350': np.zeros((1, 2, 4, 4), np.float32)}, load_card(CARDS / 'fastdepth_onnx.yaml').decoder)


def test_onnxruntime_opencv_dnn_and_tensorrt_agree_on_real_photos(fastdepth, images_dir, monkeypatch):
    card, options = fastdepth
    monkeypatch.setattr(TensorRTBackend, 'toolkit_factory', functools.partial(FakeToolkit, FakeState()))
    monkeypatch.setattr(TensorRTBackend, 'available', classmethod(lambda cls: (True, 'fake tensorrt')))
    options = BackendOptions(assets_dir=options.assets_dir, engine_cache_dir=options.engine_cache_dir)
    for name in ('dog.jpg', 'grace_hopper.jpg'):
        image = cv2.imread(str(images_dir / name))
        ort = _depth(card, options, 'onnxruntime', image, 'model').depth.values
        assert ort.shape == (224, 224)
        for backend in ('opencv_dnn', 'tensorrt'):
            other = _depth(card, options, backend, image, 'model').depth.values
            assert np.abs(other - ort).max() < 1e-3, (name, backend)


@pytest.mark.parametrize('name', PHOTOS)
def test_lower_image_bands_come_out_nearer_and_values_are_metres_at_camera_size(fastdepth, images_dir, name):
    card, options = fastdepth
    image = cv2.imread(str(images_dir / name))
    result = _depth(card, options, 'onnxruntime', image)
    values = result.depth.values
    assert values.shape == image.shape[:2] and values.dtype == np.float32 and result.depth.invalid == 0
    assert np.isfinite(values).all() and (values > 0).all()
    assert values.min() >= card.depth.min_value and values.max() <= card.depth.max_value
    medians = [float(np.median(band)) for band in np.array_split(values, 4)]
    assert medians[0] > medians[-1] and medians[1] > medians[3], medians
    assert result.times.inference > 0


def test_the_overlay_panel_shows_near_warm_and_far_cool():
    depth = DepthSpec(min_value=0.5, max_value=4.5)
    values = np.full((20, 40), 4.5, np.float32)
    values[10:] = 0.5
    panel = depth_panel(values, depth, 60)
    assert panel.shape == (60, 120, 3) and panel.dtype == np.uint8
    far, near = panel[5, 60].astype(int), panel[35, 100].astype(int)  # above the range text
    assert far[0] > far[2] and near[2] > near[0]  # BGR: blue far, red near


def test_depth_keeps_its_own_cadence_switches_off_and_on_and_joins_the_overlay(fastdepth, models_dir, images_dir,
                                                                               monkeypatch):
    card, options = fastdepth
    monkeypatch.setenv('JETSON_EDGE_MODEL_CARDS', str(CARDS))
    image = cv2.imread(str(images_dir / 'person.jpg'))
    collect = Collector()
    worker = PerceptionWorker(WorkerConfig(segmentation_card='selfie_segmentation_onnx', depth_card='fastdepth_onnx',
                                           backend_order=('onnxruntime',),
                                           options=BackendOptions(assets_dir=options.assets_dir,
                                                                  search_dirs=(str(models_dir),))),
                              publish=collect, log=lambda _: None)
    worker.set_depth(enabled=False, every_n=3)
    worker.overlay = True
    worker.start()
    try:
        assert _wait_ready(worker) == 'ready', worker.message
        assert [m.role for m in worker.models] == ['segmentation']  # off at start: not even loaded

        def run_frames(count):
            start = len(collect.results)
            for _ in range(count):
                worker.offer(_msg(image, stamp_ns=123))
                assert collect.wait(len(collect.results) + 1)
            return [result for _, result in collect.results[start:]]

        assert all(r.depth is None for r in run_frames(2))
        worker.set_depth(enabled=True)
        results = run_frames(6)
        assert [r.depth is not None for r in results] == [True, False, False, True, False, False]
        assert results[0].depth.values.shape == image.shape[:2]
        assert all(r.overlay.shape == (image.shape[0], 2 * image.shape[1], 3) for r in results)  # panel kept
        level, _, values = worker.status()
        assert level == Level.OK and worker.state == 'ready'
        assert values['depth'] == 'on' and values['depth_frames'] == 2 and values['depth_model'] == 'fastdepth_onnx'
        assert values['depth_inference_p50_ms'] > 0
        worker.set_depth(enabled=False)
        assert all(r.depth is None and r.overlay.shape[1] == image.shape[1] for r in run_frames(2))
    finally:
        worker.close()


def test_each_camera_keeps_its_own_depth_cadence_however_its_frames_are_batched(fastdepth, models_dir, images_dir,
                                                                                 monkeypatch):
    # a cadence counted in batches gave depth to whichever camera's frame came at the count: here,
    # camera b's second frame, and a camera in phase with it could go without depth for good
    card, options = fastdepth
    monkeypatch.setenv('JETSON_EDGE_MODEL_CARDS', str(CARDS))
    image = cv2.imread(str(images_dir / 'person.jpg'))
    collect = Collector()
    worker = PerceptionWorker(WorkerConfig(depth_card='fastdepth_onnx', cameras=('a', 'b'),
                                           backend_order=('onnxruntime',),
                                           options=BackendOptions(assets_dir=options.assets_dir,
                                                                  search_dirs=(str(models_dir),))),
                              publish=collect, log=lambda _: None)
    worker.set_depth(enabled=True, every_n=2)
    worker.start()
    try:
        assert _wait_ready(worker) == 'ready', worker.message
        for camera in (0, 0, 1, 0, 1, 1):  # one camera per batch: each waits for its result
            worker.offer(_msg(image, stamp_ns=123), camera=camera)
            assert collect.wait(len(collect.results) + 1)
        got = [(job.camera, result.depth is not None) for job, result in collect.results]
        assert got == [(0, True), (0, False), (1, True), (0, True), (1, False), (1, True)], got
    finally:
        worker.close()


def test_a_depth_model_that_fails_to_load_turns_depth_off_with_the_reason(fastdepth, models_dir, images_dir,
                                                                           monkeypatch, tmp_path):
    card, options = fastdepth
    monkeypatch.setenv('JETSON_EDGE_MODEL_CARDS', str(CARDS))
    image = cv2.imread(str(images_dir / 'dog.jpg'))
    collect = Collector()
    worker = PerceptionWorker(WorkerConfig(segmentation_card='selfie_segmentation_onnx', depth_card='fastdepth_onnx',
                                           backend_order=('onnxruntime',),
                                           options=BackendOptions(assets_dir=tmp_path / 'empty',
                                                                  search_dirs=(str(models_dir),))),
                              publish=collect, log=lambda _: None)
    worker.set_depth(enabled=False)
    worker.start()
    try:
        assert _wait_ready(worker) == 'ready'
        worker.set_depth(enabled=True)
        worker.offer(_msg(image))
        assert collect.wait(1)
        level, message, _ = worker.status()
        assert collect.results[0][1].depth is None and collect.results[0][1].mask is not None
        assert level == Level.WARN and 'depth switched off: model load failed' in message and 'assets fetch' in message
    finally:
        worker.close()


def test_jetson_inference_depthnet_runs_the_card_and_agrees_with_onnxruntime(fastdepth, images_dir, monkeypatch):
    import sys
    import fake_jetson_inference
    from jetson_edge_perception.backends.jetson_inference_backend import JetsonInferenceBackend

    inference, utils = fake_jetson_inference.modules()
    monkeypatch.setitem(sys.modules, 'jetson_inference', inference)
    monkeypatch.setitem(sys.modules, 'jetson_utils', utils)
    monkeypatch.setattr(JetsonInferenceBackend, 'available', classmethod(lambda cls: (True, 'fake')))
    card, options = fastdepth
    image = cv2.imread(str(images_dir / 'person.jpg'))
    reference = _depth(card, options, 'onnxruntime', image).depth.values
    result = _depth(card, options, 'jetson_inference', image)
    assert result.depth.values.shape == image.shape[:2]
    assert np.abs(result.depth.values - reference).max() < 1e-3
