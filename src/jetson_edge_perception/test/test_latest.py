"""Latest-frame-wins hand-off and the rate limiter."""

import threading
import time

from jetson_edge_perception.latest import LatestSlot, RateLimiter


def test_unconsumed_frames_are_replaced_and_counted():
    slot = LatestSlot()
    assert slot.put(1) is False
    assert slot.put(2) is True and slot.put(3) is True
    assert slot.take(0) == 3 and slot.stale == 2 and slot.accepted == 3
    assert slot.take(0.01) is None


def test_slow_consumer_only_ever_sees_recent_frames():
    slot = LatestSlot()
    seen = []

    def worker():
        while (item := slot.take(1.0)) is not None:
            seen.append(item)
            time.sleep(0.005)

    thread = threading.Thread(target=worker)
    thread.start()
    for i in range(300):
        slot.put(i)
        time.sleep(0.0005)
    time.sleep(0.05)
    slot.close()
    thread.join(2)
    assert seen == sorted(seen) and seen[-1] == 299
    assert len(seen) + slot.stale == 300 and slot.stale > 0


def test_close_wakes_a_waiting_worker():
    slot = LatestSlot()
    result = []
    thread = threading.Thread(target=lambda: result.append(slot.take(5)))
    thread.start()
    slot.close()
    thread.join(1)
    assert result == [None] and slot.closed


def test_rate_limiter_admits_at_most_the_rate_and_changes_at_run_time():
    now = [0.0]
    limiter = RateLimiter(10.0, clock=lambda: now[0])
    admitted = 0
    for _ in range(1000):  # 100 Hz for ten seconds
        admitted += limiter.allow()
        now[0] += 0.01
    assert 100 <= admitted <= 101
    exact = RateLimiter(10.0, clock=lambda: now[0])
    jitter = [0.004, -0.004] * 50
    passed = 0
    for dt in jitter:  # a 10 Hz source with +-4 ms jitter keeps every frame
        now[0] += 0.1 + dt
        passed += exact.allow()
    assert passed == 100
    limiter.max_rate_hz = 0
    assert all(limiter.allow() for _ in range(5))
