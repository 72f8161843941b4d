"""Rate limiting of a camera's frames (the latest-frame-wins hand-off per camera is `camera_batch`'s)."""

from __future__ import annotations

import time
from typing import Callable


class RateLimiter:
    """Admits at most `max_rate_hz` events per second (0 = unlimited); the rate can change at run time."""

    def __init__(self, max_rate_hz: float = 0.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._next: float | None = None
        self.max_rate_hz = max_rate_hz

    def allow(self) -> bool:
        if self.max_rate_hz <= 0:
            return True
        now = self._clock()
        period = 1.0 / self.max_rate_hz
        # Admission follows a fixed schedule (no drift); the 10 % early tolerance keeps a source that
        # publishes at exactly max_rate from losing every other frame to jitter.
        if self._next is not None and now < self._next - 0.1 * period:
            return False
        if self._next is None or now - self._next > period:
            self._next = now
        self._next += period
        return True
