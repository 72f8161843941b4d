"""Images become JPEG CompressedImages that decode back to the same picture, stamp and frame."""

import cv2
import numpy as np
import pytest
from builtin_interfaces.msg import Time
from rclpy.serialization import serialize_message
from std_msgs.msg import Header

from jetson_edge_common.image import ndarray_to_image
from jetson_edge_common.testing import committed_fixture
from jetson_edge_viewer.errors import ConversionError
from jetson_edge_viewer.images import serialized_image, to_compressed_image
from jetson_edge_viewer.testing import protobuf_decoder

from foxglove.messages import CompressedImage

DECODE = protobuf_decoder('foxglove.CompressedImage', CompressedImage.get_schema().data)
HEADER = Header(stamp=Time(sec=1765000000, nanosec=123456789), frame_id='camera_optical_frame')


def photo_bgr() -> np.ndarray:
    return cv2.imread(str(committed_fixture('images/dog.jpg')), cv2.IMREAD_COLOR)


def decoded(image) -> tuple[object, np.ndarray]:
    out = DECODE(image.encode())
    pixels = cv2.imdecode(np.frombuffer(out.data, np.uint8), cv2.IMREAD_UNCHANGED)
    return out, pixels


@pytest.mark.parametrize('encoding', ['bgr8', 'rgb8', 'bgra8'])
def test_photo_through_a_raw_subscription_decodes_to_the_same_picture(encoding):
    bgr = photo_bgr()
    pixels = {'bgr8': bgr, 'rgb8': bgr[..., ::-1], 'bgra8': cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)}[encoding]
    raw = serialize_message(ndarray_to_image(np.ascontiguousarray(pixels), encoding, header=HEADER))
    out, jpeg = decoded(to_compressed_image(serialized_image(raw), jpeg_quality=90))
    assert out.format == 'jpeg'
    assert (out.timestamp.seconds, out.timestamp.nanos) == (1765000000, 123456789)
    assert out.frame_id == 'camera_optical_frame'
    assert jpeg.shape == bgr.shape
    assert np.abs(jpeg.astype(int) - bgr.astype(int)).mean() < 6  # JPEG's loss, not a channel swap


def test_mono_stays_gray():
    gray = cv2.cvtColor(photo_bgr(), cv2.COLOR_BGR2GRAY)
    _, jpeg = decoded(to_compressed_image(ndarray_to_image(gray, 'mono8', header=HEADER), jpeg_quality=75))
    assert jpeg.shape == gray.shape


def test_unshowable_encoding_is_a_counted_reason():
    depth = ndarray_to_image(np.ones((4, 4), np.float32), '32FC1', header=HEADER)
    with pytest.raises(ConversionError) as err:
        to_compressed_image(depth, jpeg_quality=75)
    assert err.value.reason == 'encoding'


def test_truncated_serialized_image_is_a_counted_reason():
    raw = serialize_message(ndarray_to_image(photo_bgr(), 'bgr8', header=HEADER))
    with pytest.raises(ConversionError) as err:
        serialized_image(raw[:1000])
    assert err.value.reason == 'data'
