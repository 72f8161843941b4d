"""The bounded hand-off between the ROS callbacks and the encoder thread: one slot per topic.

A callback never waits: it puts the newest message of its topic into that topic's slot; a
message still unread there is replaced and counted as a drop (the encoder is behind, and the
newest frame is the one worth showing). The encoder takes slots in arrival order.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class Mailbox:
    def __init__(self) -> None:
        self._slots: OrderedDict[str, tuple[Any, float]] = OrderedDict()
        self._ready = threading.Condition()
        self._closed = False
        self.dropped: dict[str, int] = {}

    def put(self, topic: str, payload: Any, received: float) -> bool:
        """Stores ``payload``; False if it replaced an unread one (counted in ``dropped``)."""
        with self._ready:
            replaced = topic in self._slots
            if replaced:
                self.dropped[topic] = self.dropped.get(topic, 0) + 1
                del self._slots[topic]
            self._slots[topic] = (payload, received)
            self._ready.notify()
        return not replaced

    def take(self, timeout_s: float) -> tuple[str, Any, float] | None:
        """The oldest waiting slot, or None after ``timeout_s`` with nothing waiting or once closed."""
        with self._ready:
            if not self._slots and not self._closed:
                self._ready.wait(timeout_s)
            if not self._slots or self._closed:
                return None
            topic, (payload, received) = self._slots.popitem(last=False)
            return topic, payload, received

    def waiting(self) -> int:
        with self._ready:
            return len(self._slots)

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()
