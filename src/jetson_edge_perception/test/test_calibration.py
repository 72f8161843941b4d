"""INT8 calibration batches come from a real image folder through the card's preprocessing."""

import shutil

import numpy as np
import pytest

from conftest import CARDS
from jetson_edge_perception.backends.calibration import CalibrationBatches
from jetson_edge_perception.errors import BackendError
from jetson_edge_perception.model_card import load_card


def test_batches_have_the_input_shape_and_pad_the_last(images_dir, tmp_path):
    folder = tmp_path / 'cal'
    shutil.copytree(images_dir, folder)
    (folder / 'broken.jpg').write_bytes(b'not a jpeg')
    spec = load_card(CARDS / 'ssd_mobilenet_v2_coco_onnx.yaml').input
    stream = CalibrationBatches(folder, spec, batch_size=4)
    batches = list(stream)
    assert [b.shape for b in batches] == [(4, 300, 300, 3), (4, 300, 300, 3)]  # 6 good images, padded to 8
    assert [p.name for p in stream.skipped] == ['broken.jpg']
    # [-1, 1] up to float32 rounding (OpenCV's fused multiply-add lands 255 one ulp over 1.0)
    assert batches[0].dtype == np.float32 and -1.0 - 1e-6 <= batches[0].min() and batches[0].max() <= 1.0 + 1e-6
    assert np.array_equal(batches[1][1], batches[1][2])  # padding repeats the last image
    assert len(list(CalibrationBatches(folder, spec, batch_size=4, max_images=3))) == 1


def test_missing_or_empty_folder(tmp_path):
    spec = load_card(CARDS / 'ssd_mobilenet_v2_coco_onnx.yaml').input
    with pytest.raises(BackendError, match='does not exist'):
        CalibrationBatches(tmp_path / 'nope', spec, batch_size=2)
    with pytest.raises(BackendError, match='has no images'):
        CalibrationBatches(tmp_path, spec, batch_size=2)
