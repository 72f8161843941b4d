"""Host stalls seen by an independent sleeper: how benchmarks tell the machine's hiccups from
their own.

A :class:`StallMonitor` runs a child process whose only thread sleeps ``interval_s`` over and
over at SCHED_FIFO ``priority`` (99 by default, above anything the suite runs) and counts every
wake-up that came more than ``threshold_s`` after it was due. When a thread at that priority
could not run for milliseconds, no thread of the suite could either: the time went to the
hypervisor, to an interrupt storm or to a kernel that is not preemptible there. A benchmark
calls :meth:`StallMonitor.mark` where its window starts and :meth:`StallMonitor.since` where it
ends, and reports the stalls in between next to its own losses.

It is a separate process so that it never waits for a Python GIL that someone else holds.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass

from jetson_edge_common.realtime import set_cpu_affinity, set_realtime_priority


@dataclass(frozen=True)
class Stalls:
    """What a monitor saw: wake-ups later than the threshold, their total and longest delay,
    and all wake-ups."""

    count: int
    total_s: float
    longest_s: float
    wakeups: int


def _watch(interval_s: float, threshold_s: float, priority: int, cpus, stop, shared,
           scheduling) -> None:
    placed, message = set_cpu_affinity(cpus)
    if not placed:
        raise RuntimeError(f'stall monitor: {message}')
    scheduling.value = priority if set_realtime_priority(priority).ok else 0
    interval_ns, threshold_ns = int(interval_s * 1e9), int(threshold_s * 1e9)
    due = time.monotonic_ns() + interval_ns
    while not stop.is_set():
        time.sleep(max(0, due - time.monotonic_ns()) * 1e-9)
        now = time.monotonic_ns()
        late = now - due
        shared[3] += 1
        if late > threshold_ns:
            shared[0] += 1
            shared[1] += late
            shared[2] = max(shared[2], late)
        due = max(due + interval_ns, now)


class StallMonitor:
    """``with StallMonitor() as monitor: ... monitor.snapshot()``; see the module docstring."""

    def __init__(self, *, interval_s: float = 0.0005, threshold_s: float = 0.002,
                 priority: int = 99, cpus: tuple[int, ...] = ()) -> None:
        """``cpus``: where the sleeper may run (default: anywhere), e.g. away from a core
        whose own loop it must not delay."""
        ctx = multiprocessing.get_context('spawn')
        self.interval_s, self.threshold_s = interval_s, threshold_s
        self._stop = ctx.Event()
        self._shared = ctx.Array('q', 4, lock=False)  # count, total ns, longest ns, wake-ups
        self._scheduling = ctx.Value('i', -1, lock=False)
        self._process = ctx.Process(target=_watch, daemon=True, name='stall-monitor',
                                    args=(interval_s, threshold_s, priority, tuple(cpus),
                                          self._stop, self._shared, self._scheduling))

    def __enter__(self) -> 'StallMonitor':
        self._process.start()
        deadline = time.monotonic() + 10.0
        while self._scheduling.value < 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(2)
        if self._process.is_alive():
            self._process.kill()

    @property
    def priority(self) -> int:
        """The SCHED_FIFO priority the sleeper got (0: normal scheduling, no permission)."""
        return max(0, self._scheduling.value)

    def mark(self) -> Stalls:
        """Start a window: the counters now, and the longest stall reset."""
        self._shared[2] = 0
        count, total, _, wakeups = self._shared[:]
        return Stalls(count, total * 1e-9, 0.0, wakeups)

    def since(self, mark: Stalls) -> Stalls:
        """The stalls of the window that ``mark`` started."""
        count, total, longest, wakeups = self._shared[:]
        return Stalls(count - mark.count, total * 1e-9 - mark.total_s, longest * 1e-9,
                      wakeups - mark.wakeups)
