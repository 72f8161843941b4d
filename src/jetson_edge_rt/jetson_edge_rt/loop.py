"""A periodic loop on absolute deadlines with overrun detection and a skip or catch-up policy.

Cycle k is due at start + k * period. The loop sleeps until that deadline, calls
`update(now_ns, dt_ns)`, and records the wake-up latency (wake time minus deadline) and the
execution time. With `spin_ns` it sleeps until `spin_ns` before the deadline and busy-waits the
rest: the kernel's wake-up latency and the wait for the GIL then fall inside the margin instead
of after the deadline, for `spin_ns` of CPU per cycle (worth it on a core isolated for the loop). A cycle *overruns* when it ends after the next deadline (whether its execution
was long or its wake-up late). Then either

- SKIP: the deadlines already passed are dropped and the loop waits for the first future one
  (the grid is kept; `missed_cycles` counts the dropped deadlines), or
- CATCH_UP: the missed cycles run back to back, without sleeping, until the loop is on time
  again, at most `max_catch_up` of them; beyond that the rest are skipped as in SKIP. A
  catch-up cycle that itself ends after its next deadline counts as an overrun too.

Controllers that integrate over time want CATCH_UP only if they cannot take a larger `dt_ns`;
most want SKIP (the default), which is what ros2_control's controller manager does as well.
"""
from __future__ import annotations

import enum
import threading
from typing import Callable

from .clock import Clock
from .errors import ConfigError
from .timing import TimingRecorder


class OverrunPolicy(str, enum.Enum):
    SKIP = 'skip'
    CATCH_UP = 'catch_up'


UpdateFn = Callable[[int, int], object]
"""`update(now_ns, dt_ns)`: now is the wake-up time, dt the time since the previous wake-up."""


class PeriodicLoop:
    """Runs `update` every `period_ns` on `clock` until a stop event is set.

    Thread contract: `run` is called from the thread that should be real-time (the one given
    SCHED_FIFO and affinity); `stop` may be called from any thread and takes effect within one
    period.
    """

    def __init__(self, period_ns: int, update: UpdateFn, *, clock: Clock, recorder: TimingRecorder,
                 policy: OverrunPolicy = OverrunPolicy.SKIP, max_catch_up: int = 10, spin_ns: int = 0) -> None:
        if period_ns <= 0:
            raise ConfigError(f'loop period must be positive, got {period_ns} ns')
        if not 0 <= spin_ns < period_ns:
            raise ConfigError(f'spin before the deadline must be in [0, period), got {spin_ns} ns')
        if max_catch_up < 0:
            raise ConfigError(f'max_catch_up must be >= 0, got {max_catch_up}')
        if recorder.period_ns != period_ns:
            raise ConfigError(f'recorder period {recorder.period_ns} ns differs from loop period {period_ns} ns')
        self.period_ns = period_ns
        self.policy = OverrunPolicy(policy)
        self.max_catch_up = max_catch_up
        self.spin_ns = spin_ns
        self._update = update
        self._clock = clock
        self._recorder = recorder
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self, *, max_cycles: int | None = None) -> int:
        """Run until `stop()` (or `max_cycles` cycles); returns the number of cycles run."""
        period = self.period_ns
        clock = self._clock
        update = self._update
        record_cycle = self._recorder.record_cycle
        record_overrun = self._recorder.record_overrun
        catch_up = self.policy is OverrunPolicy.CATCH_UP
        max_catch_up = self.max_catch_up
        stopped = self._stop.is_set
        limit = -1 if max_cycles is None else max_cycles
        spin = self.spin_ns

        deadline = clock.now_ns() + period
        previous_wake = deadline - period
        cycles = 0
        while cycles != limit and not stopped():
            if spin:
                clock.sleep_until_ns(deadline - spin)
                wake = clock.spin_until_ns(deadline)
            else:
                clock.sleep_until_ns(deadline)
                wake = clock.now_ns()
            update(wake, wake - previous_wake)
            end = clock.now_ns()
            record_cycle(wake - deadline, end - wake)
            previous_wake = wake
            cycles += 1
            deadline += period
            if end > deadline:
                behind = (end - deadline) // period + 1  # deadlines at or before `end`
                if catch_up and behind <= max_catch_up:
                    record_overrun(0)
                else:
                    skipped = behind - max_catch_up if catch_up else behind
                    deadline += skipped * period
                    record_overrun(skipped)
        return cycles
