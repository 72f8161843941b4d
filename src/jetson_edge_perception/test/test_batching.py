"""Batched inference across cameras: one call per batch for `batch: dynamic` cards on ONNX Runtime, TensorRT
(the toolkit's own code against the TensorRT fake) and OpenCV DNN; one call per image for `batch: fixed`."""

import sys
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from conftest import CARDS
from fake_tensorrt import FakeCuda, dynamic_batch_onnx, fake_tensorrt_module
from jetson_edge_perception.backends import BackendOptions, create_backend
from jetson_edge_perception.backends import tensorrt_toolkit
from jetson_edge_perception.batch_outputs import split_outputs
from jetson_edge_perception.errors import BackendError, FrameError
from jetson_edge_perception.model_card import DecoderSpec, load_card
from jetson_edge_perception.pipeline import ModelPipeline


class CountingRunner:
    """The backend, with its inference calls and their batch sizes recorded."""

    def __init__(self, backend):
        self.backend, self.batches = backend, []
        self.runs_own_pipeline = False

    @property
    def input_name(self):
        return self.backend.input_name

    @property
    def description(self):
        return self.backend.description

    def infer(self, feed):
        self.batches.append(next(iter(feed.values())).shape[0])
        return self.backend.infer(feed)


def test_detection_out_rows_go_to_their_image_and_anchors_are_shared():
    rows = np.array([[0, 1, .9, 0, 0, 1, 1], [2, 3, .8, 0, 0, 1, 1], [0, 5, .7, 0, 0, 1, 1]], np.float32)
    split = split_outputs({'out': rows.reshape(1, 1, 3, 7)}, DecoderSpec('detection_out'), 3)
    assert [s['out'][:, 1].tolist() for s in split] == [[1, 5], [], [3]]
    decoder = DecoderSpec('ssd_tf', outputs={'boxes': 'b', 'scores': 's', 'anchors': 'a'})
    anchors = np.zeros((1917, 4), np.float32)
    split = split_outputs({'b': np.zeros((2, 1917, 1, 4)), 's': np.arange(2)[:, None], 'a': anchors}, decoder, 2)
    assert split[1]['a'] is anchors and split[1]['s'].tolist() == [[1]] and split[0]['b'].shape == (1, 1917, 1, 4)
    with pytest.raises(BackendError, match="output 'a' of shape .* has no batch axis of 2; set batch: fixed"):
        split_outputs({'a': np.zeros((1, 5))}, DecoderSpec('mask_probability'), 2)


def _dynamic_card(tmp_path):
    """A real dynamic-batch ONNX graph (x[N,3,4,4] -> Relu -> y) read as a 3-class mask_argmax model."""
    dynamic_batch_onnx(tmp_path / 'dynamic.onnx')
    (tmp_path / 'dynamic.yaml').write_text(
        'name: dynamic\ntask: segmentation\nfile: dynamic.onnx\nformat: onnx\nbackends: [tensorrt, onnxruntime]\n'
        'batch: dynamic\ninput: {name: x, width: 4, height: 4, layout: NCHW, scale: 1.0, mean: [128, 100, 50]}\n'
        'decoder: {type: mask_argmax, outputs: {mask: y}}\nlabels: [a, b, c]\n')
    return load_card(tmp_path / 'dynamic.yaml')


def _frames():
    rng = np.random.default_rng(1)
    return [(rng.integers(0, 255, (h, w, 3), np.uint8), 'bgr8') for h, w in ((4, 4), (12, 8), (3, 20))]


@pytest.fixture
def trt_api(monkeypatch):
    cuda = FakeCuda()
    monkeypatch.setitem(sys.modules, 'tensorrt', fake_tensorrt_module(cuda))
    monkeypatch.setattr(tensorrt_toolkit, 'open_cuda', lambda: cuda)
    return SimpleNamespace(cuda=cuda)


@pytest.mark.parametrize('backend_name', ['onnxruntime', 'tensorrt'])
def test_a_dynamic_batch_model_runs_cameras_of_any_size_in_one_call(backend_name, tmp_path, trt_api):
    card = _dynamic_card(tmp_path)
    options = BackendOptions(engine_cache_dir=tmp_path / 'engines', max_batch=4)
    with create_backend(backend_name, card, options=options) as backend:
        runner = CountingRunner(backend)
        pipeline = ModelPipeline(card, runner, max_batch=4)
        frames = _frames()
        batched = pipeline.process_batch(frames)
        assert runner.batches == [3] and pipeline.batching == 'dynamic batch: up to 4 images per call'
        one_by_one = [pipeline.process(image, encoding) for image, encoding in frames]
        assert runner.batches == [3, 1, 1, 1]
        for (image, _), b, s in zip(frames, batched, one_by_one):
            assert b.mask.shape == image.shape[:2] and np.array_equal(b.mask, s.mask)
        runner.batches.clear()
        pipeline.process_batch(frames + frames)  # 6 frames, at most 4 per call
        assert runner.batches == [4, 2]


def test_a_bad_frame_drops_alone_and_the_batch_goes_on(tmp_path):
    card = _dynamic_card(tmp_path)
    with create_backend('onnxruntime', card, options=BackendOptions(max_batch=4)) as backend:
        pipeline = ModelPipeline(card, backend, max_batch=4)
        good, other = _frames()[:2]
        results = pipeline.process_batch([good, (good[0], '16UC1'), other])
        assert isinstance(results[1], FrameError) and results[1].reason == 'encoding'
        assert results[0].mask.shape == (4, 4) and results[2].mask.shape == (12, 8)


def test_a_card_claiming_dynamic_batch_for_a_fixed_model_is_refused(models_dir, tmp_path, trt_api):
    text = (CARDS / 'selfie_segmentation_onnx.yaml').read_text().replace('batch: fixed', 'batch: dynamic')
    (tmp_path / 'selfie.yaml').write_text(text)
    card = load_card(tmp_path / 'selfie.yaml')
    options = BackendOptions(search_dirs=(str(models_dir),), engine_cache_dir=tmp_path / 'engines', max_batch=4)
    with pytest.raises(BackendError, match='has a fixed batch of 1; set batch: fixed in the card'):
        create_backend('onnxruntime', card, options=options).activate()
    with pytest.raises(BackendError, match='takes batches of at most 1 .not 4.*set batch: fixed in the card'):
        create_backend('tensorrt', card, options=options).activate()


def test_a_fixed_batch_model_runs_one_call_per_camera(models_dir, images_dir):
    card = load_card(CARDS / 'selfie_segmentation_onnx.yaml')
    with create_backend('onnxruntime', card, options=BackendOptions(search_dirs=(str(models_dir),))) as backend:
        runner = CountingRunner(backend)
        pipeline = ModelPipeline(card, runner, max_batch=4)
        photos = [(cv2.imread(str(images_dir / name)), 'bgr8') for name in ('person.jpg', 'dog.jpg')]
        results = pipeline.process_batch(photos)
        assert runner.batches == [1, 1] and pipeline.batching == 'fixed batch: one call per image'
        assert [r.mask.shape for r in results] == [p.shape[:2] for p, _ in photos]
        assert results[0].mask.any()  # the person


def test_opencv_dnn_batches_the_registry_ssd_and_finds_each_photos_objects(asset_cache, images_dir):
    card = load_card(CARDS / 'ssd_mobilenet_v2_coco_tf.yaml')
    with create_backend('opencv_dnn', card, options=BackendOptions(assets_dir=asset_cache)) as backend:
        runner = CountingRunner(backend)
        pipeline = ModelPipeline(card, runner, max_batch=4)
        photos = [(cv2.imread(str(images_dir / name)), 'bgr8') for name in ('person.jpg', 'dog.jpg', 'coffee.png')]
        batched = pipeline.process_batch(photos)
        single = [pipeline.process(image, encoding) for image, encoding in photos]
        assert runner.batches == [3, 1, 1, 1]
        for b, s in zip(batched, single):
            assert [card.label(c) for c in b.detections.class_ids] == [card.label(c) for c in s.detections.class_ids]
            np.testing.assert_allclose(b.detections.boxes, s.detections.boxes, atol=1.0)
        assert 'person' in [card.label(c) for c in batched[0].detections.class_ids]
        assert 'dog' in [card.label(c) for c in batched[1].detections.class_ids]
        assert 'cup' in [card.label(c) for c in batched[2].detections.class_ids]
