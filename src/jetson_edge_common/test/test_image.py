import numpy as np
import pytest
from sensor_msgs.msg import Image

from jetson_edge_common.image import ImageFormatError, image_to_ndarray, ndarray_to_image


@pytest.mark.parametrize('encoding,dtype,channels', [
    ('mono8', np.uint8, 1), ('mono16', np.uint16, 1), ('rgb8', np.uint8, 3),
    ('bgr8', np.uint8, 3), ('rgba8', np.uint8, 4), ('bgra8', np.uint8, 4),
    ('32FC1', np.float32, 1)])
def test_round_trip_every_encoding(encoding, dtype, channels):
    rng = np.random.default_rng(1)
    shape = (7, 5, channels) if channels > 1 else (7, 5)
    pixels = (rng.random(shape) * 200).astype(dtype)
    msg = ndarray_to_image(pixels, encoding)
    assert msg.step == 5 * channels * np.dtype(dtype).itemsize
    back = image_to_ndarray(msg)
    np.testing.assert_array_equal(back, pixels)


def test_view_shares_the_message_buffer():
    msg = ndarray_to_image(np.arange(12, dtype=np.uint8).reshape(3, 4), 'mono8')
    view = image_to_ndarray(msg)
    assert np.shares_memory(view, np.frombuffer(msg.data, dtype=np.uint8))
    assert not view.flags.writeable


def test_step_padding_is_honoured_without_copy():
    height, width, step = 3, 4, 10  # 8 bytes of pixels, 2 of padding per row
    rows = np.zeros((height, step), dtype=np.uint8)
    values = np.arange(height * width, dtype=np.uint16).reshape(height, width)
    rows[:, :8] = values.view(np.uint8).reshape(height, 8)
    msg = Image(height=height, width=width, encoding='mono16', step=step, is_bigendian=0)
    msg.data = rows.tobytes()
    out = image_to_ndarray(msg)
    np.testing.assert_array_equal(out, values)
    assert np.shares_memory(out, np.frombuffer(msg.data, dtype=np.uint8))


def test_big_endian_data_is_converted():
    values = np.array([[1, 256], [513, 65535]], dtype='>u2')
    msg = Image(height=2, width=2, encoding='mono16', step=4, is_bigendian=1)
    msg.data = values.tobytes()
    out = image_to_ndarray(msg)
    assert out.dtype == np.dtype('=u2')
    np.testing.assert_array_equal(out, values.astype(np.uint16))


@pytest.mark.parametrize('kwargs,needle,reason', [
    (dict(encoding='yuv422', height=2, width=2, step=4, data=bytes(8)), 'unsupported encoding', 'encoding'),
    (dict(encoding='mono8', height=0, width=2, step=2, data=b''), 'empty image', 'zero_size'),
    (dict(encoding='mono8', height=2, width=0, step=0, data=b''), 'empty image', 'zero_size'),
    (dict(encoding='rgb8', height=2, width=2, step=5, data=bytes(12)), 'step 5 is smaller', 'step'),
    (dict(encoding='mono16', height=2, width=2, step=3, data=bytes(8)), 'step 3 is smaller', 'step'),
    (dict(encoding='rgb8', height=2, width=2, step=6, data=bytes(11)), 'needs 12', 'short_data'),
    (dict(encoding='32FC1', height=2, width=2, step=8, data=bytes(15)), 'needs 16', 'short_data'),
])
def test_bad_images_raise_clear_errors_with_a_countable_reason(kwargs, needle, reason):
    data = kwargs.pop('data')
    msg = Image(**kwargs)
    msg.data = data
    with pytest.raises(ImageFormatError, match=needle) as info:
        image_to_ndarray(msg)
    assert info.value.reason == reason


def test_data_that_is_not_a_byte_buffer_is_a_data_error():
    class Fields:  # duck-typed like a message, as a node's own image struct might be
        encoding, height, width, step, is_bigendian = 'mono8', 1, 3, 3, 0
        data = 'abc'
    with pytest.raises(ImageFormatError, match='not a byte buffer') as info:
        image_to_ndarray(Fields())
    assert info.value.reason == 'data'


def test_ndarray_to_image_refuses_mismatched_arrays():
    with pytest.raises(ImageFormatError, match='3 channel') as info:
        ndarray_to_image(np.zeros((2, 2), np.uint8), 'bgr8')
    assert info.value.reason == 'channels'
    with pytest.raises(ImageFormatError, match='dtype') as info:
        ndarray_to_image(np.zeros((2, 2), np.float64), '32FC1')
    assert info.value.reason == 'dtype'
    with pytest.raises(ImageFormatError) as info:
        ndarray_to_image(np.zeros((2, 2), np.uint8), 'yuv422')
    assert info.value.reason == 'encoding'
