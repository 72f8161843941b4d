"""For tests and the benchmark: a Foxglove client and decoders independent of foxglove-sdk.

:class:`FoxgloveClient` is written from the protocol's published spec (foxglove/ws-protocol,
docs/spec.md) and speaks the SDK's subprotocol name ``foxglove.sdk.v1`` (the same protocol as
``foxglove.websocket.v1``, renamed by the SDK). JSON text frames carry ``serverInfo`` and
``advertise`` (channels with id, topic, encoding, schemaName, schema: base64 for binary schemas);
binary frames with opcode 1 carry message data (uint32 subscription id, uint64 log time in ns,
payload), little-endian.

Foxglove's protobuf schemas travel as a serialized FileDescriptorSet; :func:`protobuf_decoder`
builds the message class from it with the protobuf runtime alone, so the bytes are read as any
Foxglove client would, not through the SDK that wrote them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from websockets.sync.client import connect


def protobuf_decoder(schema_name: str, schema_data: bytes) -> Callable[[bytes], object]:
    files = descriptor_pb2.FileDescriptorSet.FromString(schema_data).file
    pool = descriptor_pool.DescriptorPool()
    pending = list(files)
    while pending:  # add each file after the files it depends on
        added = False
        for f in list(pending):
            try:
                pool.Add(f)
            except TypeError:
                continue
            pending.remove(f)
            added = True
        if not added:
            raise ValueError(f'schema {schema_name}: unresolvable dependencies in {[f.name for f in pending]}')
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(schema_name))
    return cls.FromString

SUBPROTOCOL = 'foxglove.sdk.v1'
MESSAGE_DATA = 0x01


@dataclass
class Received:
    log_time_ns: int
    payload: bytes


@dataclass
class ChannelInfo:
    id: int
    topic: str
    encoding: str
    schema_name: str
    schema: bytes
    messages: list[Received] = field(default_factory=list)


class FoxgloveClient:
    """Connects, records every advertised channel; ``subscribe(topics)``; a reader thread files
    incoming messages under their channel (unless ``read=False``: a client that never reads)."""

    def __init__(self, url: str, *, read: bool = True, open_timeout: float = 10.0) -> None:
        self._stack = contextlib.ExitStack()
        self._ws = self._stack.enter_context(
            connect(url, subprotocols=[SUBPROTOCOL], open_timeout=open_timeout, max_size=None))
        self.server_info: dict = {}
        self.channels: dict[int, ChannelInfo] = {}
        self._subscriptions: dict[int, int] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._thread = None
        if read:
            self._thread = threading.Thread(target=self._read, daemon=True)
            self._thread.start()

    def _handle_text(self, text: str) -> None:
        message = json.loads(text)
        if message.get('op') == 'serverInfo':
            self.server_info = message
        elif message.get('op') == 'advertise':
            for c in message['channels']:
                schema = c.get('schema', '')
                raw = (base64.b64decode(schema) if c.get('schemaEncoding') in ('protobuf', 'flatbuffer')
                       else schema.encode())
                with self._lock:
                    self.channels[c['id']] = ChannelInfo(c['id'], c['topic'], c['encoding'],
                                                         c.get('schemaName', ''), raw)
        elif message.get('op') == 'unadvertise':
            with self._lock:
                for channel_id in message['channelIds']:
                    self.channels.pop(channel_id, None)

    def _handle_binary(self, data: bytes) -> None:
        if data[0] != MESSAGE_DATA:
            return
        subscription, log_time = struct.unpack_from('<IQ', data, 1)
        with self._lock:
            channel = self.channels.get(self._subscriptions.get(subscription, -1))
            if channel is not None:
                channel.messages.append(Received(log_time, bytes(data[13:])))

    def _read(self) -> None:
        while not self._closed:
            try:
                frame = self._ws.recv(timeout=0.5)
            except TimeoutError:
                continue
            except Exception:  # closed
                return
            if isinstance(frame, str):
                self._handle_text(frame)
            else:
                self._handle_binary(frame)

    def read_until_advertised(self, topics: set[str], timeout: float) -> None:
        """For a client without a reader thread: read frames until ``topics`` are advertised."""
        end = time.monotonic() + timeout
        while not topics <= {c.topic for c in self.channels.values()}:
            if time.monotonic() > end:
                raise TimeoutError(f'not advertised within {timeout} s: {topics - set(self.topics())}')
            frame = self._ws.recv(timeout=max(0.1, end - time.monotonic()))
            if isinstance(frame, str):
                self._handle_text(frame)

    def topics(self) -> dict[str, ChannelInfo]:
        with self._lock:
            return {c.topic: c for c in self.channels.values()}

    def subscribe(self, topics: list[str]) -> None:
        subscriptions = []
        with self._lock:
            by_topic = {c.topic: c for c in self.channels.values()}
            for topic in topics:
                sub_id = len(self._subscriptions) + 1
                self._subscriptions[sub_id] = by_topic[topic].id
                subscriptions.append({'id': sub_id, 'channelId': by_topic[topic].id})
        self._ws.send(json.dumps({'op': 'subscribe', 'subscriptions': subscriptions}))

    def received(self, topic: str) -> list[Received]:
        with self._lock:
            channel = next((c for c in self.channels.values() if c.topic == topic), None)
            return list(channel.messages) if channel else []

    def close(self) -> None:
        self._closed = True
        self._stack.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
