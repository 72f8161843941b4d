"""Latest-frame-wins hand-off between a subscription callback and the inference worker, and rate limiting.

`LatestSlot.put` never blocks: a frame that was not taken yet is replaced and counted as stale, so
a slow model drops old frames instead of queueing them. `take` blocks the worker until a frame is
there or the slot is closed.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Generic, TypeVar

T = TypeVar('T')


class LatestSlot(Generic[T]):
    """A one-item mailbox. Producer: `put` (any thread, non-blocking). Consumer: `take` (the worker thread)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._closed = False
        self.stale = 0
        self.accepted = 0

    def put(self, item: T) -> bool:
        """Store `item`; returns True when it replaced a frame the worker never took (counted in `stale`)."""
        with self._cond:
            replaced = self._item is not None
            if replaced:
                self.stale += 1
            self._item = item
            self.accepted += 1
            self._cond.notify()
            return replaced

    def take(self, timeout: float | None = None) -> T | None:
        """The newest item, waiting up to `timeout`; None on timeout or once closed."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._item is not None or self._closed, timeout):
                return None
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


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
