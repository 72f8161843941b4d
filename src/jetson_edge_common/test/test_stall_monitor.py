"""The stall monitor counts a wake-up that came late, and nothing else.

A stall is made on purpose: SIGSTOP the monitor's process for 50 ms, which is exactly what a
hypervisor that deschedules the machine looks like from inside.
"""

import os
import signal
import time

from jetson_edge_common.stall_monitor import StallMonitor


def test_a_stopped_sleeper_reports_one_stall_of_about_the_stop():
    with StallMonitor(interval_s=0.001, threshold_s=0.02, priority=1) as monitor:
        time.sleep(0.2)
        mark = monitor.mark()
        os.kill(monitor._process.pid, signal.SIGSTOP)
        time.sleep(0.05)
        os.kill(monitor._process.pid, signal.SIGCONT)
        time.sleep(0.2)
        stalls = monitor.since(mark)
    assert stalls.count >= 1
    assert 0.04 <= stalls.longest_s <= stalls.total_s
    assert stalls.wakeups > 100  # it kept sleeping and waking around the stall


def test_a_window_without_a_stop_counts_wakeups_but_no_stall_over_a_generous_threshold():
    with StallMonitor(interval_s=0.001, threshold_s=0.5, priority=1) as monitor:
        mark = monitor.mark()
        time.sleep(0.3)
        stalls = monitor.since(mark)
    assert stalls.count == 0 and stalls.total_s == 0.0
    assert stalls.wakeups > 50
