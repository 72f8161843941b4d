"""The Foxglove WebSocket server (foxglove-sdk) and the channels the viewer logs to.

Each server gets its own SDK context, so its channels reach only its clients. The SDK keeps at
most ``backlog`` outgoing messages per client and drops that client's oldest when the queue is
full; it does not count them, but it logs ``outbox for client ... full`` (at most every 30 s),
which :class:`OutboxWatch` counts and keeps as the latest such event.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import foxglove
from foxglove.channels import CompressedImageChannel, ImageAnnotationsChannel, PointCloudChannel



class _Subscriptions:
    """ServerListener: which clients are subscribed to which channels."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_client: dict[int, set[int]] = {}

    def on_subscribe(self, client, channel) -> None:
        with self._lock:
            self._by_client.setdefault(client.id, set()).add(channel.id)

    def on_unsubscribe(self, client, channel) -> None:
        with self._lock:
            channels = self._by_client.get(client.id, set())
            channels.discard(channel.id)
            if not channels:
                self._by_client.pop(client.id, None)

    def clients(self) -> int:
        with self._lock:
            return len(self._by_client)


class OutboxWatch(logging.Handler):
    """Counts the SDK's notices that a client's outbox was full (its oldest messages dropped)."""

    NOTICE = 'outbox for client'

    def __init__(self, clock=time.monotonic) -> None:
        super().__init__(level=logging.INFO)
        self._clock = clock
        self.count = 0
        self.last: tuple[float, str] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if self.NOTICE in message:
            self.count += 1
            self.last = (self._clock(), message)

    def recent(self, within_s: float) -> str:
        if self.last is None or self._clock() - self.last[0] > within_s:
            return ''
        return f'a client stopped reading: {self.last[1]} (its oldest messages dropped)'


class ViewerServer:
    """The channels exist from the start; the server binds in :meth:`start`, which a node retries
    while the address is taken (a fault of the environment, reported, not fatal)."""

    def __init__(self, *, name: str, host: str, port: int, backlog: int) -> None:
        self.context = foxglove.Context()
        self._subscriptions = _Subscriptions()
        self.outbox = OutboxWatch()
        sdk_log = logging.getLogger('foxglove')
        sdk_log.addHandler(self.outbox)
        if sdk_log.getEffectiveLevel() > logging.INFO:
            sdk_log.setLevel(logging.INFO)
        self._options = dict(name=name, host=host, port=port, message_backlog_size=backlog)
        self._server = None
        self.host = host
        self.problem = ''

    def start(self) -> bool:
        """Binds; False (and :attr:`problem` says why) if it cannot."""
        try:
            self._server = foxglove.start_server(context=self.context, server_listener=self._subscriptions,
                                                 **self._options)
        except Exception as exc:  # the SDK raises RuntimeError (FoxgloveError) for bind failures
            self.problem = (f'cannot serve Foxglove WebSocket on {self.host}:{self._options["port"]}: {exc}; '
                            f'retrying (stop what holds the port, or set parameter port)')
            return False
        self.problem = ''
        return True

    @property
    def started(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        return self._server.port if self._server is not None else self._options['port']

    @property
    def address(self) -> str:
        return f'ws://{self.host}:{self.port}'

    def clients(self) -> int:
        return self._subscriptions.clients()

    def image_channel(self, topic: str) -> CompressedImageChannel:
        return CompressedImageChannel(topic, context=self.context)

    def annotations_channel(self, topic: str) -> ImageAnnotationsChannel:
        return ImageAnnotationsChannel(topic, context=self.context)

    def cloud_channel(self, topic: str) -> PointCloudChannel:
        return PointCloudChannel(topic, context=self.context)

    def json_channel(self, topic: str, type_name: str, schema: dict) -> foxglove.Channel:
        return foxglove.Channel(topic, message_encoding='json', context=self.context,
                                schema=foxglove.Schema(name=type_name, encoding='jsonschema',
                                                       data=json.dumps(schema).encode()))

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        logging.getLogger('foxglove').removeHandler(self.outbox)
