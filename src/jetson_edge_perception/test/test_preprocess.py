"""Preprocessing: resize modes, transforms back to the source, normalization, layouts, colour order."""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from jetson_edge_perception.errors import FrameError
from jetson_edge_perception.frames import frame_image
from jetson_edge_perception.model_card import InputSpec
from jetson_edge_perception.preprocess import Preprocessor, plan_resize

SSD = InputSpec(width=300, height=300, layout='NHWC', scale=1 / 255, mean=(0.5,) * 3, std=(0.5,) * 3)


def _image(h=240, w=320, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_ssd_normalization_is_p_times_2_over_255_minus_1():
    bgr = _image()
    tensor, _ = Preprocessor(SSD)(bgr, 'bgr8')
    expected = cv2.resize(bgr, (300, 300))[:, :, ::-1].astype(np.float32) * (2 / 255) - 1
    assert tensor.shape == (1, 300, 300, 3) and tensor.dtype == np.float32
    np.testing.assert_allclose(tensor[0], expected, atol=1e-5)


def test_nchw_layout_and_imagenet_normalization():
    spec = InputSpec(width=64, height=48, layout='NCHW', scale=1 / 255, mean=(0.485, 0.456, 0.406),
                     std=(0.229, 0.224, 0.225))
    rgb = _image(48, 64)
    tensor, _ = Preprocessor(spec)(rgb, 'rgb8')
    assert tensor.shape == (1, 3, 48, 64)
    expected = (rgb.astype(np.float32) / 255 - np.array(spec.mean, np.float32)) / np.array(spec.std, np.float32)
    np.testing.assert_allclose(tensor[0], expected.transpose(2, 0, 1), atol=1e-5)


@pytest.mark.parametrize('dtype, tolerance', [('float32', 1e-5), ('float16', 2e-3), ('uint8', 0)])
@pytest.mark.parametrize('layout', ['NHWC', 'NCHW'])
@pytest.mark.parametrize('normalization', [
    dict(scale=1 / 255, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),  # per channel
    dict(scale=1 / 255, mean=(0.5,) * 3, std=(0.5,) * 3),  # one gain and offset for all channels
    dict(scale=1.0)])  # identity
def test_every_dtype_layout_and_normalization_matches_a_float64_reference(dtype, tolerance, layout, normalization):
    if dtype == 'uint8' and normalization != dict(scale=1.0):
        pytest.skip('uint8 inputs take raw pixels')
    spec = InputSpec(width=30, height=20, layout=layout, dtype=dtype, **normalization)
    pre = Preprocessor(spec)
    first, second = _image(57, 43, seed=1), _image(57, 43, seed=2)
    pre(first, 'bgr8')  # the buffers are reused: the second call must not keep anything of the first
    tensor, _ = pre(second, 'bgr8')
    rgb = cv2.resize(second, (30, 20))[..., ::-1].astype(np.float64)
    expected = (rgb * spec.scale - np.array(spec.mean)) / np.array(spec.std)
    assert tensor.dtype == np.dtype(dtype)
    np.testing.assert_allclose(tensor[0].astype(np.float64),
                               expected.transpose(2, 0, 1) if layout == 'NCHW' else expected, atol=tolerance)


@pytest.mark.parametrize('encoding, convert', [
    ('bgr8', lambda rgb: rgb[..., ::-1]), ('rgb8', lambda rgb: rgb),
    ('rgba8', lambda rgb: np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])),
    ('bgra8', lambda rgb: np.dstack([rgb[..., ::-1], np.zeros(rgb.shape[:2], np.uint8)]))])
def test_every_colour_encoding_gives_the_same_tensor(encoding, convert):
    spec = InputSpec(width=32, height=32, colour_order='RGB')
    rgb = _image(32, 32)
    reference, _ = Preprocessor(spec)(rgb, 'rgb8')
    reference = reference.copy()
    tensor, _ = Preprocessor(spec)(np.ascontiguousarray(convert(rgb)), encoding)
    np.testing.assert_array_equal(tensor, reference)


def test_mono8_is_replicated_to_three_channels():
    gray = _image(20, 30)[..., :1].copy()
    tensor, _ = Preprocessor(InputSpec(width=30, height=20, layout='NHWC'))(gray, 'mono8')
    assert np.array_equal(tensor[0, ..., 0], tensor[0, ..., 2]) and np.array_equal(tensor[0, ..., 0], gray[..., 0])


def test_letterbox_keeps_aspect_pads_and_maps_boxes_back():
    spec = InputSpec(width=640, height=640, resize='letterbox', pad_value=114, dtype='uint8', layout='NHWC')
    image = np.full((480, 960, 3), 200, np.uint8)
    tensor, transform = Preprocessor(spec)(image, 'rgb8')
    assert transform.scale_x == transform.scale_y == pytest.approx(640 / 960)
    assert transform.pad_x == 0 and transform.pad_y == pytest.approx(160)
    assert (tensor[0, :159] == 114).all() and (tensor[0, 161:479] == 200).all() and (tensor[0, 481:] == 114).all()
    box_in = np.array([[0, 160, 640, 480]], np.float32)
    np.testing.assert_allclose(transform.boxes_to_source(box_in), [[0, 0, 960, 480]], atol=1e-3)


def test_stretch_transform_round_trips_and_clips():
    t = plan_resize(768, 576, InputSpec(width=300, height=300))
    src = np.array([[76, 134, 548, 408], [-50, -5, 900, 700]], np.float32)
    inp = src * np.array([t.scale_x, t.scale_y, t.scale_x, t.scale_y], np.float32)
    np.testing.assert_allclose(t.boxes_to_source(inp), [[76, 134, 548, 408], [0, 0, 768, 576]], atol=1e-3)


def test_padded_rows_are_read_through_a_view_without_copy():
    rgb = _image(10, 7)
    step = 7 * 3 + 11
    buf = bytearray(step * 10)
    for r in range(10):
        buf[r * step:r * step + 21] = rgb[r].tobytes()
    view = frame_image(SimpleNamespace(encoding='rgb8', height=10, width=7, step=step, is_bigendian=0, data=buf))
    assert np.shares_memory(view, np.frombuffer(buf, np.uint8))
    spec = InputSpec(width=7, height=10, layout='NHWC', dtype='uint8')
    tensor, _ = Preprocessor(spec)(view, 'rgb8')
    np.testing.assert_array_equal(tensor[0], rgb)


def test_zero_sized_image_is_a_frame_error():
    with pytest.raises(FrameError) as info:
        Preprocessor(SSD)(np.zeros((0, 10, 3), np.uint8), 'bgr8')
    assert info.value.reason == 'zero_size'
