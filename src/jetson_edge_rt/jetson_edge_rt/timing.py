"""Per-cycle timing of a periodic loop: preallocated ring buffers written by the loop, statistics read outside it.

The real-time thread only calls `record_cycle` and `record_overrun`, which write integers into
numpy arrays allocated once at construction. Percentiles, counts and the health verdict are
computed by `snapshot` and `assess` from another thread at a low rate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jetson_edge_common.diagnostics import Level

from .errors import ConfigError

_NS_PER_US = 1_000


@dataclass(frozen=True)
class TimingStats:
    """Timing of the last `window` cycles plus totals since start; times in nanoseconds."""

    period_ns: int
    cycles: int
    window: int
    latency_p50_ns: int
    latency_p99_ns: int
    latency_p999_ns: int
    latency_max_ns: int
    exec_p50_ns: int
    exec_p99_ns: int
    exec_p999_ns: int
    exec_max_ns: int
    overruns_window: int
    overruns_total: int
    missed_cycles_window: int
    missed_cycles_total: int

    def as_dict_us(self) -> dict[str, float]:
        """The same numbers with durations in microseconds (for tables, JSON and diagnostics)."""
        out: dict[str, float] = {}
        for key, value in self.__dict__.items():
            if key.endswith('_ns'):
                out[key[:-3] + '_us'] = value / _NS_PER_US
            else:
                out[key] = value
        return out


@dataclass(frozen=True)
class TimingThresholds:
    """When a loop's timing is degraded (WARN) or unacceptable (ERROR).

    Latency limits apply to the window's p99 wake-up latency; overrun limits to the number of
    overruns in the window. A limit of 0 for overruns means any overrun reaches that level.
    """

    latency_warn_us: float = 200.0
    latency_error_us: float = 1000.0
    overrun_warn: int = 0
    overrun_error: int = 10

    def __post_init__(self) -> None:
        if not 0 < self.latency_warn_us <= self.latency_error_us:
            raise ConfigError(
                f'latency thresholds must satisfy 0 < warn <= error, got warn={self.latency_warn_us} us, '
                f'error={self.latency_error_us} us')
        if not 0 <= self.overrun_warn <= self.overrun_error:
            raise ConfigError(
                f'overrun thresholds must satisfy 0 <= warn <= error, got warn={self.overrun_warn}, '
                f'error={self.overrun_error}')


class TimingRecorder:
    """Ring buffers of wake-up latency, execution time and overrun flags, one slot per cycle.

    Thread contract: `record_cycle`/`record_overrun` from the loop's thread only;
    `snapshot` from any other thread. The reader may see the newest few slots overwritten
    while it copies; for windowed statistics that is harmless and avoids any lock.
    """

    def __init__(self, capacity: int, *, period_ns: int) -> None:
        if capacity < 1:
            raise ConfigError(f'timing window must hold at least 1 cycle, got {capacity}')
        if period_ns <= 0:
            raise ConfigError(f'period must be positive, got {period_ns} ns')
        self.period_ns = period_ns
        self.capacity = capacity
        self._latency = np.zeros(capacity, dtype=np.int64)
        self._exec = np.zeros(capacity, dtype=np.int64)
        self._overrun = np.zeros(capacity, dtype=np.int8)
        self._missed = np.zeros(capacity, dtype=np.int32)
        self._index = 0
        self.cycles = 0
        self.overruns_total = 0
        self.missed_cycles_total = 0

    def record_cycle(self, latency_ns: int, exec_ns: int) -> None:
        """Store one cycle's timing (real-time thread)."""
        i = self._index
        self._latency[i] = latency_ns
        self._exec[i] = exec_ns
        self._overrun[i] = 0
        self._missed[i] = 0
        self._index = i + 1 if i + 1 < self.capacity else 0
        self.cycles += 1

    def record_overrun(self, missed_cycles: int) -> None:
        """Mark the cycle just recorded as overrun, with the number of deadlines it made the loop skip."""
        last = self._index - 1  # -1 wraps to the last slot, which is the right one
        self._overrun[last] = 1
        self._missed[last] = missed_cycles
        self.overruns_total += 1
        self.missed_cycles_total += missed_cycles

    def _order(self) -> np.ndarray:
        i = self._index
        return np.r_[i:self.capacity, 0:i] if self.cycles >= self.capacity else np.arange(self.cycles)

    def samples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Copies of (latency_ns, exec_ns, overrun flags) for the cycles in the window, oldest first."""
        order = self._order()
        return self._latency[order], self._exec[order], self._overrun[order]

    def snapshot(self) -> TimingStats:
        """Statistics over the window (not real-time safe: allocates and sorts)."""
        latency, exec_ns, overrun = self.samples()
        missed = self._missed[self._order()]
        lat = percentiles_ns(latency)
        exe = percentiles_ns(exec_ns)
        return TimingStats(
            period_ns=self.period_ns, cycles=self.cycles, window=len(latency),
            latency_p50_ns=lat[0], latency_p99_ns=lat[1], latency_p999_ns=lat[2], latency_max_ns=lat[3],
            exec_p50_ns=exe[0], exec_p99_ns=exe[1], exec_p999_ns=exe[2], exec_max_ns=exe[3],
            overruns_window=int(overrun.sum()), overruns_total=self.overruns_total,
            missed_cycles_window=int(missed.sum()), missed_cycles_total=self.missed_cycles_total)


# numpy 1.22 renamed `interpolation` to `method`; Ubuntu 22.04 (Humble's numpy) has 1.21.
_HIGHER = {'method': 'higher'} if np.lib.NumpyVersion(np.__version__) >= '1.22.0' else {'interpolation': 'higher'}


def percentiles_ns(samples: np.ndarray) -> tuple[int, int, int, int]:
    """(p50, p99, p99.9, max) of integer samples; each percentile is an observed sample ('higher')."""
    if samples.size == 0:
        return (0, 0, 0, 0)
    p = np.percentile(samples, (50.0, 99.0, 99.9), **_HIGHER)
    return (int(p[0]), int(p[1]), int(p[2]), int(samples.max()))


def assess(stats: TimingStats, thresholds: TimingThresholds) -> tuple[Level, str]:
    """The loop's health from its window statistics, with a message naming the limit crossed."""
    if stats.window == 0:
        return Level.STALE, 'no cycles run yet'
    p99_us = stats.latency_p99_ns / _NS_PER_US
    summary = (f'p99 wake-up latency {p99_us:.0f} us, p99 execution {stats.exec_p99_ns / _NS_PER_US:.0f} us '
               f'of {stats.period_ns / _NS_PER_US:.0f} us period, {stats.overruns_window} overruns '
               f'in the last {stats.window} cycles')
    problems_error = []
    problems_warn = []
    if p99_us > thresholds.latency_error_us:
        problems_error.append(f'latency above {thresholds.latency_error_us:.0f} us')
    elif p99_us > thresholds.latency_warn_us:
        problems_warn.append(f'latency above {thresholds.latency_warn_us:.0f} us')
    if stats.overruns_window > thresholds.overrun_error:
        problems_error.append(f'more than {thresholds.overrun_error} overruns')
    elif stats.overruns_window > thresholds.overrun_warn:
        problems_warn.append(f'more than {thresholds.overrun_warn} overruns')
    if problems_error:
        return Level.ERROR, f'{summary}: ' + ', '.join(problems_error + problems_warn)
    if problems_warn:
        return Level.WARN, f'{summary}: ' + ', '.join(problems_warn)
    return Level.OK, summary
