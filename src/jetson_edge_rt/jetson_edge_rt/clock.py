"""Clocks the periodic loop runs on: CLOCK_MONOTONIC with absolute-deadline sleeps, and a simulated one.

A loop that sleeps for "period minus elapsed" accumulates every oversleep as drift. Sleeping until an
absolute deadline on CLOCK_MONOTONIC (clock_nanosleep with TIMER_ABSTIME) does not: a late wake-up
delays one cycle, never the grid. Python 3.11's `time` module has no clock_nanosleep, so it is called
from libc through ctypes (which releases the GIL for the duration of the sleep).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import time
from typing import Protocol

CLOCK_MONOTONIC = 1
TIMER_ABSTIME = 1
_NS_PER_S = 1_000_000_000


class Clock(Protocol):
    """What the loop needs from a clock; both methods are called from the real-time thread."""

    def now_ns(self) -> int:
        """Current time in nanoseconds on a monotonic time base."""

    def sleep_until_ns(self, deadline_ns: int) -> None:
        """Block until `now_ns() >= deadline_ns` (returns at once if already past)."""

    def spin_until_ns(self, deadline_ns: int) -> int:
        """Busy-wait until `deadline_ns` without giving up the CPU or the GIL; returns now."""


class _Timespec(ctypes.Structure):
    _fields_ = [('tv_sec', ctypes.c_long), ('tv_nsec', ctypes.c_long)]


def libc_clock_nanosleep():
    """libc's clock_nanosleep, or None where the C library has none (macOS, some musl builds)."""
    name = ctypes.util.find_library('c')
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        fn = libc.clock_nanosleep
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Timespec), ctypes.POINTER(_Timespec)]
    fn.restype = ctypes.c_int
    return fn


class MonotonicClock:
    """CLOCK_MONOTONIC; sleeps to absolute deadlines with clock_nanosleep(TIMER_ABSTIME).

    One instance belongs to one thread: the timespec passed to the kernel is preallocated and
    rewritten on every call so that sleeping allocates no ctypes objects.
    """

    def __init__(self) -> None:
        self._clock_nanosleep = libc_clock_nanosleep()
        self._ts = _Timespec()
        self._ts_ref = ctypes.byref(self._ts)

    @property
    def absolute(self) -> bool:
        """True when sleeps use clock_nanosleep(TIMER_ABSTIME); False on the relative fallback."""
        return self._clock_nanosleep is not None

    def now_ns(self) -> int:
        return time.monotonic_ns()

    def sleep_until_ns(self, deadline_ns: int) -> None:
        fn = self._clock_nanosleep
        if fn is None:
            remaining = deadline_ns - time.monotonic_ns()
            if remaining > 0:
                time.sleep(remaining / _NS_PER_S)
            return
        ts = self._ts
        ts.tv_sec, ts.tv_nsec = divmod(deadline_ns, _NS_PER_S)
        # clock_nanosleep returns the error number itself (not -1/errno); with an absolute
        # deadline a signal-interrupted sleep is simply restarted with the same deadline.
        while fn(CLOCK_MONOTONIC, TIMER_ABSTIME, self._ts_ref, None) == errno.EINTR:
            pass

    def spin_until_ns(self, deadline_ns: int) -> int:
        now = time.monotonic_ns()
        while now < deadline_ns:
            now = time.monotonic_ns()
        return now


def clock_resolution_ns() -> int:
    """Resolution of CLOCK_MONOTONIC in nanoseconds (1 with high-resolution timers)."""
    return round(time.clock_getres(time.CLOCK_MONOTONIC) * _NS_PER_S)


class SimulatedClock:
    """A deterministic clock for tests and dry runs: time moves only when told to.

    `sleep_until_ns` jumps to the deadline plus the next scripted wake-up latency (0 when the
    script is exhausted), or returns at once when the deadline has already passed, like the real
    clock; the code under test advances time for work done with `advance`.
    """

    def __init__(self, start_ns: int = 0, *, wake_latencies_ns: tuple[int, ...] = ()) -> None:
        self._now = start_ns
        self._latencies = list(wake_latencies_ns)
        self.sleeps: int = 0

    def now_ns(self) -> int:
        return self._now

    def advance(self, ns: int) -> None:
        if ns < 0:
            raise ValueError(f'a monotonic clock cannot go back ({ns} ns)')
        self._now += ns

    def sleep_until_ns(self, deadline_ns: int) -> None:
        self.sleeps += 1
        latency = self._latencies.pop(0) if self._latencies else 0
        if self._now < deadline_ns:
            self._now = deadline_ns + latency

    def spin_until_ns(self, deadline_ns: int) -> int:
        self._now = max(self._now, deadline_ns)
        return self._now
