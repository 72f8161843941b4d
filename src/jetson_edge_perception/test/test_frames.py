"""Camera messages: zero-copy views through jetson_edge_common, every bad frame rejected with a countable reason."""

import array
import threading
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jetson_edge_perception.errors import FrameError
from jetson_edge_perception.frames import SUPPORTED_ENCODINGS, DropCounter, frame_image

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
