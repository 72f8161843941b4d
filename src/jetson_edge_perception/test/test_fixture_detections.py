"""Correctness on real photos: the fixtures README table, through each backend that can run the SSD.

- onnxruntime on the raw ONNX (decoding + NMS here), from ../shared/fixtures/models;
- opencv_dnn on the TF frozen graph from `jetson-edge assets fetch` (skips when not fetched);
- opencv_dnn on the raw ONNX too, so the shared decoder is checked on a second runtime.
The person mask on person.jpg must lie mostly inside the person's box.
"""

import cv2
import numpy as np
import pytest
from jetson_edge_common.testing import committed_fixture, fixture_path

from conftest import CARDS
from expected_detections import EXPECTED, check_detections
from jetson_edge_perception.backends import BackendOptions, create_backend
from jetson_edge_perception.model_card import load_card
from jetson_edge_perception.pipeline import ModelPipeline

PERSON_BOX = (186, 100, 271, 373)


def _run_all(card_name, backend_name, options, images_dir):
    card = load_card(CARDS / f'{card_name}.yaml')
    results = {}
    with create_backend(backend_name, card, options=options) as backend:
        pipeline = ModelPipeline(card, backend)
        for name in EXPECTED:
            image = cv2.imread(str(images_dir / name))
            det = pipeline.process(image, 'bgr8').detections
            results[name] = [(card.label(int(c)), float(s), tuple(float(v) for v in b))
                             for b, s, c in zip(det.boxes, det.scores, det.class_ids)]
    return results


@pytest.fixture(scope='module')
def onnx_results():
    models, images = fixture_path('models'), committed_fixture('images')
    return _run_all('ssd_mobilenet_v2_coco_onnx', 'onnxruntime', BackendOptions(search_dirs=(str(models),)), images)


@pytest.mark.parametrize('image_name', list(EXPECTED))
def test_onnxruntime_raw_onnx_matches_table(onnx_results, image_name):
    check_detections(image_name, onnx_results[image_name])


def test_opencv_dnn_tf_graph_from_assets_matches_table(asset_cache, images_dir):
    results = _run_all('ssd_mobilenet_v2_coco_tf', 'opencv_dnn', BackendOptions(assets_dir=asset_cache), images_dir)
    for name in EXPECTED:
        check_detections(name, results[name])


def test_opencv_dnn_raw_onnx_matches_table(models_dir, images_dir):
    results = _run_all('ssd_mobilenet_v2_coco_onnx', 'opencv_dnn', BackendOptions(search_dirs=(str(models_dir),)),
                       images_dir)
    for name in ('dog.jpg', 'person.jpg'):
        check_detections(name, results[name])


def _person_mask_fraction_inside_box(mask):
    x0, y0, x1, y1 = PERSON_BOX
    inside = mask[y0:y1, x0:x1].astype(bool).sum()
    return inside / max(1, mask.astype(bool).sum()), mask.astype(bool).sum()


@pytest.mark.parametrize('card_name, backend_name, where', [
    ('selfie_segmentation_onnx', 'onnxruntime', 'models'),
    ('selfie_segmentation_onnx', 'opencv_dnn', 'models'),
    ('selfie_segmentation_tflite', 'opencv_dnn', 'assets'),
])
def test_person_mask_lies_inside_person_box(card_name, backend_name, where, images_dir, request):
    if where == 'models':
        options = BackendOptions(search_dirs=(str(request.getfixturevalue('models_dir')),))
    else:
        options = BackendOptions(assets_dir=request.getfixturevalue('asset_cache'))
    card = load_card(CARDS / f'{card_name}.yaml')
    image = cv2.imread(str(images_dir / 'person.jpg'))
    with create_backend(backend_name, card, options=options) as backend:
        mask = ModelPipeline(card, backend).process(image, 'bgr8').mask
    assert mask.shape == image.shape[:2] and mask.dtype == np.uint8
    assert set(np.unique(mask).tolist()) <= {0, 1}
    fraction, pixels = _person_mask_fraction_inside_box(mask)
    assert pixels > 0.3 * (PERSON_BOX[2] - PERSON_BOX[0]) * (PERSON_BOX[3] - PERSON_BOX[1])  # the person is found
    assert fraction > 0.9
