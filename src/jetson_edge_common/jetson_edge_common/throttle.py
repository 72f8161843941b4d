"""Rate-limited logging: the first occurrence is logged, repeats are counted and summarized."""

from __future__ import annotations

import time
from typing import Callable


class Throttled:
    """Wraps a log function so that it emits at most once per ``period_s``.

    Suppressed calls are counted and the count is appended to the next emitted message, so
    nothing is lost silently: ``"bad packet (12 similar suppressed)"``.
    """

    def __init__(self, log_fn: Callable[[str], object], period_s: float = 5.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log_fn = log_fn
        self._period_s = period_s
        self._clock = clock
        self._last: float | None = None
        self._suppressed = 0

    def __call__(self, message: str) -> bool:
        """Logs ``message`` unless one was logged less than a period ago. Returns whether it did."""
        now = self._clock()
        if self._last is not None and now - self._last < self._period_s:
            self._suppressed += 1
            return False
        if self._suppressed:
            message = f'{message} ({self._suppressed} similar suppressed)'
        self._suppressed = 0
        self._last = now
        self._log_fn(message)
        return True
