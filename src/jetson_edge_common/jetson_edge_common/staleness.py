"""A staleness bound on a periodic input, counted in the input's own periods.

For a driver whose input period is not a configured fact (perception's camera images: the
camera's rate is the camera node's parameter, and any publisher may feed the topic), the
period is measured: the median gap between recent arrivals, robust to a burst or a lost frame.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from typing import Callable


class PeriodicInput:
    """Arrivals of one input; :meth:`stale` says why it is stale, or None."""

    def __init__(self, name: str, *, stale_after_periods: int, window: int = 16,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if stale_after_periods < 1:
            raise ValueError(f'stale_after_periods must be >= 1, got {stale_after_periods}')
        self.name = name
        self.stale_after_periods = stale_after_periods
        self._clock = clock
        self._gaps: deque[float] = deque(maxlen=window)
        self.last: float | None = None
        self.count = 0

    def arrived(self) -> None:
        now = self._clock()
        if self.last is not None:
            self._gaps.append(now - self.last)
        self.last = now
        self.count += 1

    @property
    def period_s(self) -> float | None:
        """The measured period; None before two arrivals."""
        return statistics.median(self._gaps) if self._gaps else None

    def waiting(self) -> str | None:
        """Why no period is known yet (fewer than two arrivals), or None."""
        if self.count == 0:
            return f'no {self.name} received yet'
        if self.period_s is None:
            return f'only one {self.name} received so far'
        return None

    def stale(self) -> str | None:
        """Why the input is stale: nothing for ``stale_after_periods`` measured periods."""
        period = self.period_s
        if period is None or self.last is None:
            return None
        age = self._clock() - self.last
        bound = self.stale_after_periods * period
        if age <= bound:
            return None
        return (f'no {self.name} for {age:.2f} s (stale after {self.stale_after_periods} '
                f'periods of {period * 1e3:.0f} ms = {bound:.2f} s)')
