"""Many cameras, one model: per-camera latest-frame slots and the fair, bounded-wait batch former.

Each camera has a one-item slot (a newer frame replaces one the worker never took, counted as
stale by the caller). `CameraBatcher.take` waits for the first frame, then at most a bounded wait
(`wait_fraction` of the fastest live camera's frame period) for the other cameras that are due, and
hands out the ready frames oldest first, at most `max_batch`: a camera that misses the batch joins the
next one, and since each camera holds at most one frame and the oldest go first, no camera starves
however fast another runs. A camera whose frames stopped (silent for `silent_after_periods` of its
period, or never heard from) is never waited for; each batch formed without it counts against it.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Generic, TypeVar

T = TypeVar('T')


@dataclass
class _Camera(Generic[T]):
    item: T | None = None
    arrived: float | None = None  # when `item` (or the last frame) arrived
    gaps: deque = field(default_factory=lambda: deque(maxlen=16))
    late: int = 0    # batches formed while this camera was due but not ready (it joins the next one)
    silent: int = 0  # batches formed while this camera was silent

    @property
    def period_s(self) -> float | None:
        return statistics.median(self.gaps) if self.gaps else None


class CameraBatcher(Generic[T]):
    """Producers: `put` (any thread, non-blocking). Consumer: `take` (the inference worker)."""

    def __init__(self, count: int, *, wait_fraction: float = 0.25, silent_after_periods: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if count < 1:
            raise ValueError('a batcher needs at least one camera')
        self._cameras: list[_Camera[T]] = [_Camera() for _ in range(count)]
        self._cond = threading.Condition()
        self._closed = False
        self._clock = clock
        self.wait_fraction = wait_fraction
        self.silent_after_periods = silent_after_periods

    def put(self, camera: int, item: T) -> bool:
        """Store the newest frame of `camera`; True when it replaced one the worker never took."""
        now = self._clock()
        with self._cond:
            cam = self._cameras[camera]
            if cam.arrived is not None:
                cam.gaps.append(now - cam.arrived)
            replaced = cam.item is not None
            cam.item, cam.arrived = item, now
            self._cond.notify()
            return replaced

    def take(self, max_batch: int) -> list[tuple[int, T]] | None:
        """Up to `max_batch` (camera, frame) pairs, oldest frame first; None once closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._closed or any(c.item is not None for c in self._cameras))
            if self._closed:
                return None
            deadline = self._clock() + self._wait_s()
            while True:
                ready = [i for i, c in enumerate(self._cameras) if c.item is not None]
                due = self._due(deadline)
                remaining = deadline - self._clock()
                if len(ready) >= max_batch or not due or remaining <= 0:
                    break
                self._cond.wait(remaining)
                if self._closed:
                    return None
            ready.sort(key=lambda i: self._cameras[i].arrived)
            chosen = ready[:max_batch]
            now = self._clock()
            batch = []
            for i, cam in enumerate(self._cameras):
                if i in chosen:
                    batch.append((i, cam.item))
                    cam.item = None
                elif cam.item is None:
                    if self._is_silent(cam, now):
                        cam.silent += 1
                    else:
                        cam.late += 1
            batch.sort(key=lambda pair: self._cameras[pair[0]].arrived)
            return batch

    def _live_periods(self, now: float) -> list[float]:
        return [c.period_s for c in self._cameras if c.period_s and not self._is_silent(c, now)]

    def _wait_s(self) -> float:
        periods = self._live_periods(self._clock())
        return self.wait_fraction * min(periods) if periods else 0.0

    def _due(self, deadline: float) -> list[int]:
        """Cameras without a frame that are live and whose next frame is expected before `deadline`."""
        now = self._clock()
        return [i for i, c in enumerate(self._cameras)
                if c.item is None and not self._is_silent(c, now) and c.period_s is not None
                and c.arrived + c.period_s <= deadline]

    def _is_silent(self, cam: _Camera[T], now: float) -> bool:
        if cam.arrived is None:
            return True
        period = cam.period_s
        return period is not None and now - cam.arrived > self.silent_after_periods * period

    def silent(self, camera: int) -> bool:
        """Whether `camera` never delivered or stopped delivering (is not waited for)."""
        with self._cond:
            return self._is_silent(self._cameras[camera], self._clock())

    def counts(self, camera: int) -> dict[str, int]:
        """Batches formed without `camera`: `late` (due but not ready) and `silent`."""
        cam = self._cameras[camera]
        return {'late': cam.late, 'silent': cam.silent}

    def period_s(self, camera: int) -> float | None:
        return self._cameras[camera].period_s

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
