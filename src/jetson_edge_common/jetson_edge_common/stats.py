"""Timing statistics: percentiles, windowed rates and latency summaries."""

from __future__ import annotations

import collections
import time
from typing import Callable, Iterable, Sequence

import numpy as np


def percentiles(samples: Iterable[float] | np.ndarray,
                qs: Sequence[float] = (50, 99)) -> dict[float, float]:
    """Percentiles of ``samples`` keyed by ``q``; NaN for each when there are no samples."""
    data = np.asarray(list(samples) if not isinstance(samples, np.ndarray) else samples,
                      dtype=np.float64)
    if data.size == 0:
        return {q: float('nan') for q in qs}
    values = np.percentile(data, qs)
    return {q: float(v) for q, v in zip(qs, values)}


class RateMeter:
    """Events per second over a sliding window of ``window_s`` seconds."""

    def __init__(self, window_s: float = 2.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._window_s = window_s
        self._clock = clock
        self._stamps: collections.deque[float] = collections.deque()
        self.total = 0

    def tick(self, count: int = 1) -> None:
        now = self._clock()
        for _ in range(count):
            self._stamps.append(now)
        self.total += count
        self._trim(now)

    def rate(self) -> float:
        now = self._clock()
        self._trim(now)
        return len(self._stamps) / self._window_s

    def _trim(self, now: float) -> None:
        while self._stamps and now - self._stamps[0] > self._window_s:
            self._stamps.popleft()


class LatencyStats:
    """Keeps the last ``capacity`` durations (seconds) in a fixed ring and summarizes them."""

    def __init__(self, capacity: int = 1000) -> None:
        self._buf = np.zeros(capacity, dtype=np.float64)
        self._n = 0

    def add(self, seconds: float) -> None:
        self._buf[self._n % self._buf.size] = seconds
        self._n += 1

    @property
    def count(self) -> int:
        return self._n

    def samples(self) -> np.ndarray:
        return self._buf[:min(self._n, self._buf.size)].copy()

    def summary(self, qs: Sequence[float] = (50, 99)) -> dict[str, float]:
        data = self.samples()
        out = {f'p{q:g}': v for q, v in percentiles(data, qs).items()}
        out['max'] = float(data.max()) if data.size else float('nan')
        out['count'] = float(self._n)
        return out
