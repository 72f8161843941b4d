import threading

import numpy as np

from jetson_edge_common.testing import wait_for
from jetson_edge_rt.buffers import LatestValue, PublishHandoff


def test_latest_value_returns_none_then_the_newest():
    buf = LatestValue()
    assert buf.read_from_rt() is None
    buf.write_from_non_rt((1, 2))
    buf.write_from_non_rt((3, 4))
    assert buf.read_from_rt() == (3, 4)
    assert buf.writes == 2


def test_try_publish_fails_while_the_previous_vector_is_pending():
    published = []
    h = PublishHandoff(3, lambda v: published.append(v.copy()))
    assert h.try_publish(np.array([1.0, 2.0, 3.0]))
    assert not h.try_publish(np.array([4.0, 5.0, 6.0]))  # thread not started: slot still full
    assert h.dropped == 1
    h.start()
    wait_for(lambda: published, 30, 'the first publish', interval=0.001)
    assert h.try_publish(np.array([7.0, 8.0, 9.0]))
    h.stop()
    assert [p.tolist() for p in published] == [[1.0, 2.0, 3.0], [7.0, 8.0, 9.0]]
    assert h.published == 2


def test_try_publish_fails_instead_of_waiting_for_the_lock():
    h = PublishHandoff(1, lambda v: None)
    h._lock.acquire()  # the publisher thread copying out, as seen from the loop
    try:
        results = []
        caller = threading.Thread(target=lambda: results.append(h.try_publish(np.zeros(1))))
        caller.start()
        caller.join(30)  # a try_publish that waited for the lock would still be waiting
        assert results == [False]
    finally:
        h._lock.release()
    assert h.dropped == 1


def test_stop_publishes_a_pending_vector_first():
    published = []
    gate = threading.Event()

    def slow_publish(v):
        gate.wait(5)
        published.append(v.copy())

    h = PublishHandoff(1, slow_publish)
    h.start()
    assert h.try_publish(np.array([1.0]))
    wait_for(lambda: not h._full, 30, 'the hand-off taken', interval=0.001)  # thread took the first one and is blocked in publish
    assert h.try_publish(np.array([2.0]))
    gate.set()
    h.stop()
    assert [p.tolist() for p in published] == [[1.0], [2.0]]


def test_publish_errors_are_counted_and_do_not_kill_the_thread():
    calls = []

    def flaky(v):
        calls.append(v[0])
        if len(calls) == 1:
            raise RuntimeError('rmw down')

    h = PublishHandoff(1, flaky)
    h.start()
    h.try_publish(np.array([1.0]))
    wait_for(lambda: h.publish_errors == 1, 30, 'the publish error counted', interval=0.001)
    wait_for(lambda: h.try_publish(np.array([2.0])), 30, 'the hand-off free again',
             interval=0.001)
    h.stop()
    assert calls == [1.0, 2.0]
    assert h.last_error == 'RuntimeError: rmw down'
    assert h.published == 1


def test_a_refused_publisher_priority_is_reported_and_the_thread_still_publishes():
    published = []
    h = PublishHandoff(1, lambda v: published.append(v[0]))
    ok, message = h.start(priority=100)
    assert not ok and 'out of range' in message
    assert h.try_publish(np.array([5.0]))
    wait_for(lambda: published, 30, 'the publish', interval=0.001)
    h.stop()
    assert published == [5.0]
