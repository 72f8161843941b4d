"""``jetson-edge record``: subscribes to topics as serialized bytes and writes them to a bag.

Topics are found by polling the graph, so a topic that appears while recording is added. Each
subscription's QoS matches the topic's publishers the way rosbag2 chooses it
(``bag_metadata.matching_policies``). Messages are never deserialized (``raw=True``).

The executor's thread only takes messages and queues them; a writer thread puts them into the
file. With the writes in the callbacks, the recorder missed six times what a bare subscriber of
the same run missed of the 500 Hz ``control/command`` (``bench record``): its publisher keeps
only the newest sample (depth 1), so a reader that falls behind by one period loses samples for
good. The queue is bounded in bytes; what does not fit is counted per topic and reported.
"""

from __future__ import annotations

import collections
import os
import sys
import threading
import time
from typing import Callable, TextIO

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from jetson_edge_bringup.bag import BagWriter
from jetson_edge_bringup.bag_metadata import Qos, matching_policies, qos_yaml
from jetson_edge_bringup.msg_definitions import DefinitionError
from jetson_edge_common.message_types import message_type
from jetson_edge_common.dds import use_large_data_transport

DISCOVERY_PERIOD_S = 0.5
# Deep reader queues: a burst (a scan, a camera frame) must not push out messages not yet taken.
DEPTH = 500
MAX_QUEUED_BYTES = 256 * 1024 * 1024   # taken, not yet written: about 200 camera frames


def offered(info) -> Qos:
    """A publisher's QoS from ``get_publishers_info_by_topic``."""
    profile = info.qos_profile
    return Qos(reliability=profile.reliability.name.lower(),
               durability=profile.durability.name.lower(),
               history=int(profile.history), depth=int(profile.depth))


def matching_qos(offers: list[Qos], *, depth: int) -> QoSProfile:
    """A profile that matches every publisher of ``offers`` (see ``matching_policies``)."""
    reliability, durability = matching_policies(offers)
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy[reliability.upper()],
                      durability=DurabilityPolicy[durability.upper()])


def type_hash(info) -> str:
    """The publisher's type hash where the distro reports one (Jazzy, not Humble)."""
    text = str(getattr(info, 'topic_type_hash', ''))
    return text if text.startswith('RIHS') else ''


class WriteQueue:
    """Messages taken by the executor, written by a thread of their own in arrival order.
    ``put`` never blocks: beyond ``max_bytes`` queued, a message is dropped and counted."""

    def __init__(self, write: Callable[[str, bytes, int], None], *,
                 max_bytes: int = MAX_QUEUED_BYTES, log: Callable[[str], None] = print):
        self._write = write
        self._max_bytes = max_bytes
        self._log = log
        self._queue: collections.deque[tuple[str, bytes, int]] = collections.deque()
        self._queued_bytes = 0
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._closing = False
        self.dropped: collections.Counter[str] = collections.Counter()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name='bag-writer', daemon=True)
        self._thread.start()

    def put(self, topic: str, data: bytes, time_ns: int) -> None:
        with self._lock:
            if self._queued_bytes + len(data) > self._max_bytes or self.error is not None:
                if not self.dropped[topic]:
                    self._log(f'dropping messages of {topic}: the writer is '
                              f'{self._queued_bytes / 2**20:.0f} MiB behind'
                              if self.error is None else f'not writing {topic}: {self.error}')
                self.dropped[topic] += 1
                return
            self._queue.append((topic, data, time_ns))
            self._queued_bytes += len(data)
            self._ready.notify()

    def _drain(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closing:
                    self._ready.wait()
                if not self._queue:
                    return
                topic, data, time_ns = self._queue.popleft()
                self._queued_bytes -= len(data)
            try:
                self._write(topic, data, time_ns)
            except Exception as exc:  # noqa: BLE001 - raised again by close()
                with self._lock:
                    self.error = exc
                    self._queue.clear()
                    self._queued_bytes = 0
                return

    def close(self) -> None:
        """Writes what is queued, then stops the thread; raises what a write raised."""
        with self._lock:
            self._closing = True
            self._ready.notify()
        self._thread.join()
        if self.error is not None:
            raise self.error


class Recorder:
    """Adds matching topics of ``node``'s graph to ``writer`` as they appear (one thread: the
    executor's, which runs the discovery timer and every subscription callback)."""

    def __init__(self, node: Node, writer: BagWriter, queue: WriteQueue, *,
                 topics: list[str] | None = None, log: Callable[[str], None] = print):
        self._node = node
        self._writer = writer
        self._queue = queue
        self._wanted = set(topics) if topics else None
        self._log = log
        self.unrecordable: dict[str, str] = {}  # topic -> why
        self._subscriptions = {}
        self.discover()
        node.create_timer(DISCOVERY_PERIOD_S, self.discover)

    def discover(self) -> None:
        for name, types in self._node.get_topic_names_and_types():
            if name in self._subscriptions or name in self.unrecordable:
                continue
            if self._wanted is not None and name not in self._wanted:
                continue
            publishers = self._node.get_publishers_info_by_topic(name)
            if not publishers:
                continue  # nothing to match QoS to yet; looked at again next period
            self._add(name, types, publishers)

    def _add(self, name: str, types: list[str], publishers) -> None:
        if len(types) != 1:
            self._refuse(name, f'published with several types {types}')
            return
        type_name = types[0]
        offers = [offered(info) for info in publishers]
        try:
            msg_type = message_type(type_name)
            self._writer.add_topic(name, type_name, offered_qos_profiles=qos_yaml(offers),
                                   type_hash=type_hash(publishers[0]))
        except (DefinitionError, AttributeError, ModuleNotFoundError, ValueError) as exc:
            self._refuse(name, f'type {type_name} is not available here: {exc}')
            return
        qos = matching_qos(offers, depth=DEPTH)
        self._subscriptions[name] = self._node.create_subscription(
            msg_type, name, self._writer_for(name), qos, raw=True)
        self._log(f'recording {name} ({type_name}, {qos.reliability.name.lower()})')

    def _refuse(self, name: str, why: str) -> None:
        self.unrecordable[name] = why
        self._log(f'not recording {name}: {why}')

    def _writer_for(self, name: str):
        clock, write = self._node.get_clock(), self._queue.put

        def on_message(data: bytes) -> None:
            write(name, data, clock.now().nanoseconds)
        return on_message


def run_record(directory: str, *, topics: list[str] | None = None,
               duration_s: float | None = None, out: TextIO = sys.stderr) -> dict[str, int]:
    """Records until Ctrl-C or ``duration_s``; returns the message count per topic."""
    use_large_data_transport()
    writer = BagWriter(directory, ros_distro=os.environ.get('ROS_DISTRO', ''))
    log = lambda line: print(f'jetson-edge: {line}', file=out)  # noqa: E731
    queue = WriteQueue(writer.write, log=log)
    context = rclpy.Context()
    rclpy.init(context=context)
    recorder = None
    try:
        node = rclpy.create_node('jetson_edge_recorder', context=context)
        recorder = Recorder(node, writer, queue, topics=topics, log=log)
        executor = rclpy.executors.SingleThreadedExecutor(context=context)
        executor.add_node(node)
        end = None if duration_s is None else time.monotonic() + duration_s
        while context.ok() and (end is None or time.monotonic() < end):
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # Ctrl-C: the recording so far is kept
    finally:
        if context.ok():
            rclpy.shutdown(context=context)
        try:
            queue.close()
        finally:
            writer.close()
    counts = writer.counts()
    print(f'jetson-edge: {sum(counts.values())} messages on {len(counts)} topics in {directory}',
          file=out)
    for name, why in (recorder.unrecordable if recorder else {}).items():
        print(f'jetson-edge: not recorded: {name}: {why}', file=out)
    for name, count in sorted(queue.dropped.items()):
        print(f'jetson-edge: dropped {count} messages of {name} (the writer fell behind)',
              file=out)
    return counts
