"""The path from a ROS callback to the WebSocket clients, with its bounds.

``offer`` runs in the subscription callback and never waits: a topic no client subscribes to is
only counted (nothing is decoded while nobody watches), the topic's rate cap decides on arrival
time alone, and an admitted message goes into the :class:`~.mailbox.Mailbox` (one slot
per topic; an unread message replaced there is a counted drop). One encoder thread takes the
slots, converts (decode, JPEG, annotations, ...) and logs the result to the topic's Foxglove
channel, which never blocks either: the SDK queues at most ``message_backlog_size`` messages per
client and drops that client's oldest when it stops reading. A message that cannot be converted
is counted by reason and logged (rate-limited), never raised into the thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import ConversionError
from .mailbox import Mailbox
from .rate_cap import RateCap


@dataclass
class Stream:
    """One ROS topic shown on one Foxglove channel: ``convert`` turns what the callback received
    into what ``channel.log`` takes."""

    topic: str
    convert: Callable[[Any], Any]
    channel: Any
    cap: RateCap
    received: int = 0
    unwatched: int = 0
    sent: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class Forwarder:
    def __init__(self, streams: list[Stream], *, warn: Callable[[str], object] = print,
                 clock: Callable[[], float] = time.monotonic, wall_ns: Callable[[], int] = time.time_ns) -> None:
        self.streams = {s.topic: s for s in streams}
        self.mailbox = Mailbox()
        self._warn = warn
        self._clock = clock
        self._wall_ns = wall_ns
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def offer(self, topic: str, payload: Any) -> None:
        stream = self.streams[topic]
        stream.received += 1
        if not stream.channel.has_sinks():
            stream.unwatched += 1
        elif stream.cap.admit(self._clock()):
            self.mailbox.put(topic, payload, self._wall_ns())

    def forward_one(self, timeout_s: float) -> bool:
        """Converts and logs the oldest waiting message; False if none came within ``timeout_s``."""
        item = self.mailbox.take(timeout_s)
        if item is None:
            return False
        topic, payload, received_ns = item
        stream = self.streams[topic]
        try:
            message = stream.convert(payload)
        except ConversionError as exc:
            stream.errors[exc.reason] = stream.errors.get(exc.reason, 0) + 1
            self._warn(f'{topic}: message not shown ({exc.reason}): {exc}')
            return True
        stream.channel.log(message, log_time=received_ns)
        stream.sent += 1
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self.forward_one(0.25)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name='viewer-encoder', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.mailbox.close()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def counts(self) -> dict[str, dict[str, int]]:
        """Per topic: received, unwatched (no client subscribed), skipped by the rate cap, dropped
        (replaced unread), sent, errors."""
        return {topic: {'received': s.received, 'unwatched': s.unwatched, 'rate_capped': s.cap.skipped,
                        'dropped': self.mailbox.dropped.get(topic, 0), 'sent': s.sent,
                        'errors': sum(s.errors.values())}
                for topic, s in self.streams.items()}
