"""SCHED_FIFO for a thread degrades with a message instead of failing, and touches only the
calling thread."""

import os
import threading

from jetson_edge_common.realtime import set_realtime_priority


def test_zero_priority_leaves_scheduling_alone():
    ok, message = set_realtime_priority(0)
    assert ok and 'SCHED_OTHER' in message
    assert os.sched_getscheduler(0) == os.SCHED_OTHER


def test_fifo_applies_to_the_calling_thread_only_or_says_why_not():
    result = {}

    def worker():
        result['outcome'] = set_realtime_priority(10)
        result['policy'] = os.sched_getscheduler(0)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    ok, message = result['outcome']
    if ok:
        assert result['policy'] == os.SCHED_FIFO and 'priority 10' in message
    else:
        assert result['policy'] == os.SCHED_OTHER
        assert 'left SCHED_OTHER' in message
        assert any(reason in message for reason in ('CAP_SYS_NICE', 'rt_runtime', 'kernel refused'))
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the test's own thread is untouched
