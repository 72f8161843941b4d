"""The batch former: bounded wait for due cameras, oldest first, no starvation, silent cameras not waited for."""

import threading
import time

import pytest

from jetson_edge_perception.camera_batch import CameraBatcher


def _feed(batcher, camera, period, stop):
    i = 0
    while not stop.is_set():
        batcher.put(camera, (camera, i))
        i += 1
        time.sleep(period)


def test_a_fast_camera_never_starves_a_slow_one_and_batches_are_capped():
    batcher = CameraBatcher(3, wait_fraction=0.25)
    stop = threading.Event()
    threads = [threading.Thread(target=_feed, args=(batcher, cam, period, stop), daemon=True)
               for cam, period in ((0, 0.002), (1, 0.02), (2, 0.05))]
    for t in threads:
        t.start()
    served = {0: 0, 1: 0, 2: 0}
    try:
        deadline = time.monotonic() + 30
        while min(served.values()) < 5 and time.monotonic() < deadline:
            batch = batcher.take(max_batch=2)
            assert 1 <= len(batch) <= 2 and len({cam for cam, _ in batch}) == len(batch)
            for cam, (source, _) in batch:
                assert cam == source
                served[cam] += 1
            time.sleep(0.01)  # the model's time
    finally:
        stop.set()
        batcher.close()
    assert min(served.values()) >= 5, served


def test_a_due_camera_is_waited_for_within_the_bound_and_a_late_one_joins_the_next_batch():
    batcher = CameraBatcher(2, wait_fraction=1.0)
    for i in range(4):  # both cameras at a 100 ms period
        batcher.put(0, ('a', i))
        batcher.put(1, ('b', i))
        assert len(batcher.take(max_batch=2)) == 2
        time.sleep(0.1)
    batcher.put(0, ('a', 9))
    threading.Timer(0.005, batcher.put, args=(1, ('b', 9))).start()
    assert [cam for cam, _ in batcher.take(max_batch=2)] == [0, 1]  # waited a few ms for camera 1
    time.sleep(0.1)
    batcher.put(0, ('a', 10))  # camera 1 never comes this time: the batch goes without it
    assert [cam for cam, _ in batcher.take(max_batch=2)] == [0]
    assert batcher.counts(1) == {'late': 1, 'silent': 0}
    batcher.put(1, ('b', 10))
    assert batcher.take(max_batch=2) == [(1, ('b', 10))]


def test_a_silent_camera_never_holds_the_batch_and_is_counted():
    batcher = CameraBatcher(3, wait_fraction=1.0, silent_after_periods=3)
    for i in range(5):
        batcher.put(0, i)
        batcher.put(1, i)
        batcher.take(max_batch=3)
        time.sleep(0.01)
    time.sleep(0.1)  # camera 1 stops: silent after 3 periods; camera 2 never sent anything
    batcher.put(0, 99)
    assert batcher.take(max_batch=3) == [(0, 99)]
    assert batcher.silent(1) and batcher.silent(2)
    # not waited for: counted as silent, never as late
    assert batcher.counts(1) == {'late': 0, 'silent': 1} and batcher.counts(2) == {'late': 0, 'silent': 6}


def test_closing_releases_the_worker():
    batcher = CameraBatcher(1)
    threading.Timer(0.05, batcher.close).start()
    assert batcher.take(max_batch=1) is None
    with pytest.raises(ValueError):
        CameraBatcher(0)
