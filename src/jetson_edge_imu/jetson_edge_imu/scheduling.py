"""Real-time scheduling for the reader thread: SCHED_FIFO at a given priority, reported as
``(ok, message)`` so a missing permission degrades visibly instead of failing the driver."""

from __future__ import annotations

import os


def set_current_thread_fifo(priority: int) -> tuple[bool, str]:
    """Make the calling thread SCHED_FIFO at ``priority`` (1..99); 0 leaves it alone."""
    if priority <= 0:
        return True, 'normal scheduling (reader_priority 0)'
    if not hasattr(os, 'sched_setscheduler'):
        return False, 'SCHED_FIFO is not available on this platform'
    try:
        # pid 0 is the calling thread on Linux, not the whole process.
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except PermissionError:
        return False, (f'SCHED_FIFO {priority} refused: grant CAP_SYS_NICE or an rtprio limit '
                       '(/etc/security/limits.conf: @realtime - rtprio 99); running with normal '
                       'scheduling, expect missed samples under load')
    except OSError as exc:
        return False, f'SCHED_FIFO {priority} failed ({exc}); running with normal scheduling'
    return True, f'reader thread SCHED_FIFO priority {priority}'
