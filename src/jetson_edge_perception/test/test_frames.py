"""Raw image buffers: zero-copy views, and every kind of bad frame rejected with a countable reason."""

import threading

import numpy as np
import pytest

from jetson_edge_perception.errors import FrameError
from jetson_edge_perception.frames import DropCounter, frame_view


def test_view_shares_memory_with_the_message_buffer():
    data = bytes(range(256)) * 3  # 768 bytes = 16 x 16 x 3
    view = frame_view(encoding='bgr8', height=16, width=16, step=48, data=data)
    assert view.shape == (16, 16, 3) and not view.flags.writeable
    assert np.shares_memory(view, np.frombuffer(data, np.uint8))
    assert view[1, 0, 0] == 48 % 256


@pytest.mark.parametrize('fields, reason', [
    (dict(encoding='yuv422', height=2, width=2, step=4, data=b'\0' * 8), 'encoding'),
    (dict(encoding='16UC1', height=2, width=2, step=4, data=b'\0' * 8), 'encoding'),
    (dict(encoding='rgb8', height=0, width=2, step=6, data=b''), 'zero_size'),
    (dict(encoding='rgb8', height=2, width=0, step=0, data=b''), 'zero_size'),
    (dict(encoding='rgb8', height=2, width=4, step=10, data=b'\0' * 24), 'step'),
    (dict(encoding='rgb8', height=2, width=2, step=6, data=b'\0' * 11), 'short_data'),
    (dict(encoding='mono8', height=3, width=4, step=8, data=b'\0' * 19), 'short_data'),
    (dict(encoding='rgb8', height=1, width=1, step=3, data=12345), 'data'),
])
def test_bad_frames_raise_with_reason(fields, reason):
    with pytest.raises(FrameError) as info:
        frame_view(**fields)
    assert info.value.reason == reason
    assert str(info.value)


def test_last_row_may_omit_its_padding():
    view = frame_view(encoding='mono8', height=3, width=4, step=8, data=bytes(20))
    assert view.shape == (3, 4, 1)


def test_drop_counter_counts_per_reason_across_threads():
    counter = DropCounter()
    threads = [threading.Thread(target=lambda: [counter.add('stale') for _ in range(1000)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counter.add('encoding', 2)
    assert counter.snapshot() == {'stale': 4000, 'encoding': 2} and counter.total == 4002
