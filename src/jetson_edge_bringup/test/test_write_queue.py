"""The recorder's write queue: the executor hands messages over without waiting for the file;
order is kept, the byte bound drops and counts, and a failed write is raised at close."""

import threading
import time

import pytest

from jetson_edge_bringup.recorder import WriteQueue


def test_messages_are_written_in_arrival_order_and_close_drains_the_queue():
    written = []
    queue = WriteQueue(lambda *m: written.append(m), log=lambda _line: None)
    for i in range(1000):
        queue.put(f'/t{i % 3}', bytes([i % 256]), i)
    queue.close()
    assert [m[2] for m in written] == list(range(1000)) and not queue.dropped


def test_beyond_the_byte_bound_messages_are_dropped_counted_and_logged_once_per_topic():
    gate = threading.Event()
    logged = []
    queue = WriteQueue(lambda *_m: gate.wait(), max_bytes=100, log=logged.append)
    for i in range(10):
        queue.put('/big', b'x' * 40, i)        # the first may already be taken by the writer
    gate.set()
    queue.close()
    assert 7 <= queue.dropped['/big'] <= 8
    assert len(logged) == 1 and 'dropping messages of /big' in logged[0]


def test_a_failed_write_is_raised_by_close_and_later_messages_are_counted():
    def write(*_m):
        raise OSError('disk full')
    queue = WriteQueue(write, log=lambda _line: None)
    queue.put('/a', b'1', 1)
    for _ in range(1000):
        if queue.error is not None:
            break
        time.sleep(0.01)
    queue.put('/a', b'2', 2)
    with pytest.raises(OSError, match='disk full'):
        queue.close()
    assert queue.dropped['/a'] == 1
