"""Serialized sensor_msgs/Image read in place: the same fields rclpy deserializes, pixels never copied."""

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Image

from jetson_edge_common.image import ImageFormatError, image_to_ndarray
from jetson_edge_common.image_cdr import image_from_cdr


def _image(*, frame_id: str, encoding: str, height: int, width: int, step: int, data: bytes,
           is_bigendian: int = 0, sec: int = 0, nanosec: int = 0) -> Image:
    msg = Image(height=height, width=width, encoding=encoding, is_bigendian=is_bigendian, step=step)
    msg.header.frame_id = frame_id
    msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nanosec
    msg.data = data
    return msg


def _fields(msg) -> tuple:
    return (msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id, msg.height, msg.width,
            msg.encoding, msg.is_bigendian, msg.step, bytes(msg.data))


@settings(max_examples=120, deadline=None)
@given(frame_id=st.text(max_size=9), encoding=st.sampled_from(['mono8', 'rgb8', 'bgra8', 'mono16', '32FC1', 'x']),
       height=st.integers(0, 5), width=st.integers(0, 5), step=st.integers(0, 40), size=st.integers(0, 41),
       is_bigendian=st.integers(0, 1), sec=st.integers(-2**31, 2**31 - 1), nanosec=st.integers(0, 999_999_999))
def test_reads_every_field_as_rclpy_serialized_it(frame_id, encoding, height, width, step, size, is_bigendian, sec,
                                                  nanosec):
    # frame ids and encodings of every length put the later fields at every alignment
    msg = _image(frame_id=frame_id, encoding=encoding, height=height, width=width, step=step,
                 data=bytes(range(size)), is_bigendian=is_bigendian, sec=sec, nanosec=nanosec)
    serialized = serialize_message(msg)
    # rclpy's own reading is the reference: a C string ends at its first NUL on the wire
    assert _fields(image_from_cdr(serialized)) == _fields(deserialize_message(serialized, Image))


def test_pixels_are_a_read_only_view_on_the_received_bytes():
    pixels = np.random.default_rng(3).integers(0, 256, (6, 5, 3), np.uint8)
    serialized = serialize_message(_image(frame_id='camera_optical_frame', encoding='rgb8', height=6, width=5,
                                          step=15, data=pixels.tobytes()))
    image = image_from_cdr(serialized)
    view = image_to_ndarray(image)
    np.testing.assert_array_equal(view, pixels)
    assert np.shares_memory(view, np.frombuffer(serialized, np.uint8))
    assert image.data.readonly and not view.flags.writeable


def _big_endian(msg) -> bytes:
    """The XCDR1 big-endian form of an Image (no RMW here writes it; other hosts' DDS may)."""
    out = bytearray(b'\x00\x00\x00\x00')

    def put(code, value):
        size = struct.calcsize(code)
        out.extend(b'\0' * (-(len(out) - 4) % size))
        out.extend(struct.pack('>' + code, value))

    def put_string(text):
        raw = text.encode() + b'\0'
        put('I', len(raw))
        out.extend(raw)

    put('i', msg.header.stamp.sec)
    put('I', msg.header.stamp.nanosec)
    put_string(msg.header.frame_id)
    put('I', msg.height)
    put('I', msg.width)
    put_string(msg.encoding)
    put('B', msg.is_bigendian)
    put('I', msg.step)
    put('I', len(msg.data))
    out.extend(bytes(msg.data))
    return bytes(out)


def test_big_endian_cdr_is_read_too():
    msg = _image(frame_id='ab', encoding='mono16', height=1, width=3, step=6, data=b'\x00\x01\x00\x02\x00\x03',
                 is_bigendian=1, sec=-5, nanosec=123456789)
    assert _fields(image_from_cdr(_big_endian(msg))) == _fields(msg)


def test_every_truncation_is_a_data_error():
    serialized = serialize_message(_image(frame_id='cam', encoding='rgb8', height=1, width=2, step=6, data=bytes(6)))
    for length in range(len(serialized)):
        with pytest.raises(ImageFormatError) as info:
            image_from_cdr(serialized[:length])
        assert info.value.reason == 'data', length


def test_other_representations_are_refused_with_the_reason():
    serialized = bytearray(serialize_message(_image(frame_id='', encoding='mono8', height=1, width=1, step=1,
                                                    data=b'\x07')))
    serialized[:2] = b'\x00\x09'  # DELIMITED_CDR2 little endian: appendable types, not ROS's final ones
    with pytest.raises(ImageFormatError, match='0x0009') as info:
        image_from_cdr(bytes(serialized))
    assert info.value.reason == 'encapsulation'


def test_frame_id_that_is_not_utf8_is_a_data_error():
    serialized = bytearray(serialize_message(_image(frame_id='ab', encoding='mono8', height=1, width=1, step=1,
                                                    data=b'\x07')))
    serialized[16] = 0xFF  # the 'a' of the frame id
    with pytest.raises(ImageFormatError, match='UTF-8') as info:
        image_from_cdr(bytes(serialized))
    assert info.value.reason == 'data'
