"""SCHED_FIFO for the reader thread degrades with a message instead of failing."""

import os
import threading

from jetson_edge_imu.scheduling import set_current_thread_fifo


def test_zero_priority_leaves_scheduling_alone():
    assert set_current_thread_fifo(0) == (True, 'normal scheduling (reader_priority 0)')


def test_fifo_applies_to_the_calling_thread_only_or_says_why_not():
    result = {}

    def worker():
        result['outcome'] = set_current_thread_fifo(10)
        result['policy'] = os.sched_getscheduler(0)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    ok, message = result['outcome']
    if ok:
        assert result['policy'] == os.SCHED_FIFO and 'priority 10' in message
    else:
        assert 'normal scheduling' in message and ('CAP_SYS_NICE' in message or 'failed' in message)
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the test's own thread is untouched
