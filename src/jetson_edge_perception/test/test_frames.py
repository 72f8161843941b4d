"""Camera messages: zero-copy views through jetson_edge_common, every bad frame rejected with a countable reason."""

import array
import struct
import threading
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jetson_edge_perception.errors import FrameError
from jetson_edge_perception.frames import SUPPORTED_ENCODINGS, DropCounter, FrameLimits, frame_image, read_frame

CHANNELS = {'mono8': 1, 'rgb8': 3, 'bgr8': 3, 'rgba8': 4, 'bgra8': 4}


def _msg(**fields):
    """The fields of a sensor_msgs/Image (the core reads messages duck-typed: no ROS import here)."""
    return SimpleNamespace(is_bigendian=0, **fields)


def test_view_shares_memory_with_the_message_buffer():
    data = array.array('B', bytes(range(256)) * 3)  # rclpy's type for uint8[]; 768 bytes = 16 x 16 x 3
    view = frame_image(_msg(encoding='bgr8', height=16, width=16, step=48, data=data))
    assert view.shape == (16, 16, 3) and not view.flags.writeable
    assert np.shares_memory(view, np.frombuffer(data, np.uint8))
    assert view[1, 0, 0] == 48 % 256


@pytest.mark.parametrize('fields, reason', [
    (dict(encoding='yuv422', height=2, width=2, step=4, data=b'\0' * 8), 'encoding'),
    # common reads these, but no model here runs on them: counted, not run
    (dict(encoding='16UC1', height=2, width=2, step=4, data=b'\0' * 8), 'encoding'),
    (dict(encoding='mono16', height=2, width=2, step=4, data=b'\0' * 8), 'encoding'),
    (dict(encoding='32FC1', height=2, width=2, step=8, data=b'\0' * 16), 'encoding'),
    (dict(encoding='8UC3', height=2, width=2, step=6, data=b'\0' * 12), 'encoding'),
    (dict(encoding='rgb8', height=0, width=2, step=6, data=b''), 'zero_size'),
    (dict(encoding='rgb8', height=2, width=0, step=0, data=b''), 'zero_size'),
    (dict(encoding='rgb8', height=2, width=4, step=10, data=b'\0' * 24), 'step'),
    (dict(encoding='rgb8', height=2, width=2, step=6, data=b'\0' * 11), 'short_data'),
    (dict(encoding='mono8', height=3, width=4, step=8, data=b'\0' * 19), 'short_data'),
    (dict(encoding='rgb8', height=1, width=1, step=3, data='abc'), 'data'),
])
def test_bad_frames_raise_with_reason(fields, reason):
    with pytest.raises(FrameError) as info:
        frame_image(_msg(**fields))
    assert info.value.reason == reason
    assert str(info.value)


def _cdr(*, frame_id: bytes, encoding: bytes, height: int, width: int, step: int, data: bytes) -> bytes:
    """Little-endian XCDR1 of a sensor_msgs/Image (common's tests check this layout against rclpy's)."""
    def string(text: bytes, at: int) -> bytes:
        pad = b'\0' * (-at % 4)
        return pad + struct.pack('<I', len(text) + 1) + text + b'\0'
    body = struct.pack('<iI', 7, 9)
    body += string(frame_id, len(body))
    body += b'\0' * (-len(body) % 4) + struct.pack('<II', height, width)
    body += string(encoding, len(body)) + b'\0'  # is_bigendian
    body += b'\0' * (-len(body) % 4) + struct.pack('<II', step, len(data)) + data
    return b'\x00\x01\x00\x00' + body


def test_serialized_images_are_read_in_place():
    pixels = bytes(range(24))
    serialized = _cdr(frame_id=b'cam', encoding=b'rgb8', height=2, width=4, step=12, data=pixels)
    msg, image = read_frame(serialized)
    assert msg.header.frame_id == 'cam' and (msg.header.stamp.sec, msg.header.stamp.nanosec) == (7, 9)
    assert image.shape == (2, 4, 3) and image[1, 0, 0] == 12
    assert np.shares_memory(image, np.frombuffer(serialized, np.uint8))


@pytest.mark.parametrize('serialized, reason', [
    (_cdr(frame_id=b'cam', encoding=b'rgb8', height=2, width=4, step=12, data=bytes(24))[:-1], 'data'),
    (b'\x00\x0b' + _cdr(frame_id=b'', encoding=b'mono8', height=1, width=1, step=1, data=b'x')[2:], 'encapsulation'),
    (_cdr(frame_id=b'cam', encoding=b'mono16', height=1, width=1, step=2, data=bytes(2)), 'encoding'),
    (_cdr(frame_id=b'cam', encoding=b'rgb8', height=2, width=4, step=12, data=bytes(23)), 'short_data'),
])
def test_bad_serialized_images_raise_with_reason(serialized, reason):
    with pytest.raises(FrameError) as info:
        read_frame(serialized)
    assert info.value.reason == reason


@pytest.mark.parametrize('height, width, data_size, reason', [
    (1000, 1001, 3003, 'too_many_pixels'),   # the pixel count alone decides; data may even be short
    (10, 10, 1_000_001, 'too_many_bytes'),   # few pixels, padded rows or trailing bytes past the limit
])
def test_oversized_frames_are_refused_from_their_header(height, width, data_size, reason):
    limits = FrameLimits(max_pixels=1_000_000, max_bytes=1_000_000)
    serialized = _cdr(frame_id=b'cam', encoding=b'bgr8', height=height, width=width, step=width * 3,
                      data=bytes(data_size))
    for msg in (serialized, _msg(encoding='bgr8', height=height, width=width, step=width * 3, data=bytes(data_size))):
        with pytest.raises(FrameError) as info:
            read_frame(msg, limits=limits)
        assert info.value.reason == reason


def test_a_frame_at_the_limits_is_accepted():
    limits = FrameLimits(max_pixels=12, max_bytes=36)
    msg, image = read_frame(_cdr(frame_id=b'cam', encoding=b'bgr8', height=3, width=4, step=12, data=bytes(36)),
                            limits=limits)
    assert image.shape == (3, 4, 3)


def test_message_objects_pass_through():
    msg = _msg(encoding='mono8', height=1, width=2, step=2, data=b'ab')
    same, image = read_frame(msg)
    assert same is msg and image.tolist() == [[97, 98]]


def test_last_row_may_omit_its_padding():
    view = frame_image(_msg(encoding='mono8', height=3, width=4, step=8, data=bytes(20)))
    assert view.shape == (3, 4)


def test_drop_counter_counts_per_reason_across_threads():
    counter = DropCounter()
    threads = [threading.Thread(target=lambda: [counter.add('stale') for _ in range(1000)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counter.add('encoding', 2)
    assert counter.snapshot() == {'stale': 4000, 'encoding': 2} and counter.total == 4002


@settings(max_examples=150, deadline=None)
@given(encoding=st.sampled_from(SUPPORTED_ENCODINGS), height=st.integers(1, 9),
       width=st.integers(1, 9), padding=st.integers(0, 7), missing=st.integers(-3, 3), seed=st.integers(0, 99))
def test_view_reads_exactly_the_declared_pixels_or_says_why(encoding, height, width, padding, missing, seed):
    channels = CHANNELS[encoding]
    step = width * channels + padding
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)
    rows = np.zeros((height, step), np.uint8)
    rows[:, :width * channels] = pixels.reshape(height, -1)
    needed = step * (height - 1) + width * channels
    data = rows.tobytes()[:max(0, needed - missing)] if missing > 0 else rows.tobytes()
    msg = _msg(encoding=encoding, height=height, width=width, step=step, data=data)
    if missing > 0:
        with pytest.raises(FrameError) as info:
            frame_image(msg)
        assert info.value.reason == 'short_data'
    else:
        view = frame_image(msg)
        np.testing.assert_array_equal(view, pixels if channels > 1 else pixels[..., 0])
        assert np.shares_memory(view, np.frombuffer(data, np.uint8))
