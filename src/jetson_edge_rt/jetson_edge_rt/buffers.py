"""Hand-offs between ROS threads and the real-time loop that never block the loop.

`LatestValue` carries inputs in (subscription callback -> loop): the writer replaces one
reference, the reader takes whatever is newest. `PublishHandoff` carries outputs out
(loop -> publisher thread): the loop copies its command into a preallocated slot when the
slot is free and otherwise reports failure, as realtime_tools' RealtimePublisher::try_publish.
The method names say which side may call them.
"""
from __future__ import annotations

import threading
from typing import Callable, Generic, Sequence, TypeVar

import numpy as np

from jetson_edge_common.realtime import SetupOutcome, set_cpu_affinity, set_realtime_priority

T = TypeVar('T')


class LatestValue(Generic[T]):
    """The newest value written by a non-real-time thread, read without locks by the loop.

    Values must be immutable once written (tuples, NamedTuples, frozen dataclasses): the writer
    builds a new object and swaps one reference, which is atomic under the GIL, so the reader
    never sees half an update and never waits.
    """

    __slots__ = ('_value', 'writes')

    def __init__(self) -> None:
        self._value: T | None = None
        self.writes = 0

    def write_from_non_rt(self, value: T) -> None:
        self._value = value
        self.writes += 1

    def read_from_rt(self) -> T | None:
        """The newest value, or None before the first write."""
        return self._value


class PublishHandoff:
    """One-slot, drop-newest hand-off of a float64 vector from the loop to a publisher thread.

    `try_publish` (real-time side) never blocks: it fails when the publisher thread holds the
    slot or has not taken the previous vector yet, and counts the drop. The publisher thread,
    started by `start`, copies the vector out and calls `publish(values)` outside the lock;
    `values` is a buffer reused for every call, so `publish` must copy what it keeps.
    """

    def __init__(self, size: int, publish: Callable[[np.ndarray], None], *, name: str = 'publisher') -> None:
        self._slot = np.zeros(size, dtype=np.float64)
        self._out = np.zeros(size, dtype=np.float64)
        self._publish = publish
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._full = False
        self._running = False
        self._thread: threading.Thread | None = None
        self._name = name
        self._started = threading.Event()
        self.setup = SetupOutcome(True, 'publisher thread not started')
        self.published = 0
        self.dropped = 0
        self.publish_errors = 0
        self.last_error: str | None = None

    @property
    def size(self) -> int:
        return self._slot.size

    def try_publish(self, values: np.ndarray) -> bool:
        """Queue `values` for publishing (real-time side); False if the slot was busy (dropped)."""
        if not self._lock.acquire(blocking=False):
            self.dropped += 1
            return False
        try:
            if self._full:
                self.dropped += 1
                return False
            self._slot[:] = values
            self._full = True
            self._ready.notify()  # never blocks: it only releases the waiting thread's lock
            return True
        finally:
            self._lock.release()

    def publish_from_non_rt(self, values: np.ndarray) -> None:
        """Publish directly from a non-real-time thread (e.g. the safe command at shutdown)."""
        self._publish(np.array(values, dtype=np.float64))

    def start(self, *, priority: int = 0, cpus: Sequence[int] = (), timeout_s: float = 5.0) -> SetupOutcome:
        """Start the publisher thread at SCHED_FIFO `priority` (0: SCHED_OTHER) on `cpus` (empty: any).

        Returns how that went.

        The thread takes the GIL to publish: below the loop's priority but real-time, it cannot
        be preempted by ordinary processes while it holds the GIL the loop is about to need.
        """
        if self._thread is not None:
            return self.setup
        self._running = True
        self._thread = threading.Thread(target=self._run, args=(priority, tuple(cpus)), name=self._name, daemon=True)
        self._thread.start()
        self._started.wait(timeout_s)
        return self.setup

    def stop(self, *, timeout: float = 1.0) -> None:
        """Stop the publisher thread after it has published a vector still in the slot."""
        with self._lock:
            self._running = False
            self._ready.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self, priority: int, cpus: tuple[int, ...]) -> None:
        scheduling, affinity = set_realtime_priority(priority), set_cpu_affinity(cpus, isolate=False)
        self.setup = SetupOutcome(scheduling.ok and affinity.ok, f'{scheduling.message}; {affinity.message}')
        self._started.set()
        while True:
            with self._lock:
                while not self._full and self._running:
                    self._ready.wait()
                if not self._full:
                    return
                self._out[:] = self._slot
                self._full = False
            try:
                self._publish(self._out)
                self.published += 1
            except Exception as exc:  # noqa: BLE001 - a failing publish must not kill the thread
                self.publish_errors += 1
                self.last_error = f'{type(exc).__name__}: {exc}'
