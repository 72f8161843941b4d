"""The model pipeline: run-time settings, class filters, timings, bad frames."""

import cv2
import numpy as np
import pytest
from jetson_edge_common.testing import fixture_path

from conftest import CARDS
from jetson_edge_perception.backends import BackendOptions, create_backend
from jetson_edge_perception.errors import FrameError
from jetson_edge_perception.model_card import load_card
from jetson_edge_perception.pipeline import DetectionSettings, ModelPipeline, class_ids_for


@pytest.fixture(scope='module')
def ssd():
    card = load_card(CARDS / 'ssd_mobilenet_v2_coco_onnx.yaml')
    backend = create_backend('onnxruntime', card, options=BackendOptions(search_dirs=(str(fixture_path('models')),)))
    backend.activate()
    yield card, ModelPipeline(card, backend)
    backend.close()


def test_settings_change_threshold_classes_and_count(ssd, images_dir):
    card, pipeline = ssd
    image = cv2.imread(str(images_dir / 'dog.jpg'))
    base = pipeline.process(image, 'bgr8')
    assert len(base.detections) == 4 and base.times.inference > 0 and base.times.total >= base.times.inference
    assert 'onnxruntime' in base.backend
    strict = pipeline.process(image, 'bgr8', settings=DetectionSettings(score_threshold=0.8))
    assert sorted(card.label(int(c)) for c in strict.detections.class_ids) == ['bicycle', 'dog']
    dogs = pipeline.process(image, 'bgr8', settings=DetectionSettings(0.3, class_ids_for(card, ['dog', '3']), 100))
    assert sorted(card.label(int(c)) for c in dogs.detections.class_ids) == ['car', 'dog']
    top = pipeline.process(image, 'bgr8', settings=DetectionSettings(0.1, None, 2))
    assert top.detections.scores.tolist() == sorted(top.detections.scores.tolist(), reverse=True)
    assert len(top.detections) == 2


def test_rgb_and_bgr_give_the_same_detections(ssd, images_dir):
    _, pipeline = ssd
    bgr = cv2.imread(str(images_dir / 'person.jpg'))
    a = pipeline.process(bgr, 'bgr8').detections
    b = pipeline.process(np.ascontiguousarray(bgr[..., ::-1]), 'rgb8').detections
    np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-3)


def test_unknown_class_name_is_refused(ssd):
    card, _ = ssd
    with pytest.raises(ValueError, match="'unicorn' is not a label"):
        class_ids_for(card, ['unicorn'])
    assert class_ids_for(card, []) is None


def test_zero_sized_frame(ssd):
    _, pipeline = ssd
    with pytest.raises(FrameError):
        pipeline.process(np.zeros((0, 0, 3), np.uint8), 'bgr8')
