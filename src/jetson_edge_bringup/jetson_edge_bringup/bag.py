"""A rosbag2 directory with MCAP storage: written message by message, read back in time order.

The layout is rosbag2's: ``<dir>/<dir name>_0.mcap`` plus ``<dir>/metadata.yaml`` (written when
the bag closes). In the MCAP file (profile ``ros2``) each type is a schema with encoding
``ros2msg`` and its full definition, each topic a channel with message encoding ``cdr`` and the
metadata ``offered_qos_profiles`` and ``topic_type_hash``, each message the serialized CDR bytes
with its receive time as log time. Pure: no rclpy; the bytes are never deserialized.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from mcap.reader import make_reader
from mcap.writer import CompressionType, Writer

from jetson_edge_bringup.bag_metadata import (SERIALIZATION, BagSummary, TopicRecord,
                                              metadata_yaml, read_metadata)
from jetson_edge_bringup.msg_definitions import ENCODING, full_definition

METADATA = 'metadata.yaml'


class BagError(RuntimeError):
    """A recording that cannot be written or read, with what to do about it."""


class BagWriter:
    """Writes one recording. Not thread-safe: one thread adds topics and messages."""

    def __init__(self, directory: str | Path, *, ros_distro: str = '',
                 definition: Callable[[str], str] = full_definition):
        self.directory = Path(directory)
        if self.directory.exists():
            raise BagError(f'{self.directory} already exists: choose a new output directory')
        self.directory.mkdir(parents=True)
        self._summary = BagSummary(file_name=f'{self.directory.name}_0.mcap', ros_distro=ros_distro)
        self._file = open(self.directory / self._summary.file_name, 'wb')
        # Uncompressed chunks: compressing camera frames would cost the robot a core.
        self._writer = Writer(self._file, compression=CompressionType.NONE)
        self._writer.start(profile='ros2', library='jetson_edge_bringup')
        self._definition = definition
        self._schemas: dict[str, int] = {}
        self._channels: dict[str, tuple[int, TopicRecord]] = {}
        self._sequence = 0
        self._closed = False

    def add_topic(self, name: str, type_name: str, *, offered_qos_profiles: str,
                  type_hash: str = '') -> None:
        """Registers a topic (once); its type's definition is looked up on first use."""
        if name in self._channels:
            return
        if type_name not in self._schemas:
            text = self._definition(type_name)
            self._schemas[type_name] = self._writer.register_schema(
                name=type_name, encoding=ENCODING, data=text.encode())
        channel = self._writer.register_channel(
            topic=name, message_encoding=SERIALIZATION, schema_id=self._schemas[type_name],
            metadata={'offered_qos_profiles': offered_qos_profiles, 'topic_type_hash': type_hash})
        record = TopicRecord(name, type_name, offered_qos_profiles, type_hash)
        self._summary.topics.append(record)
        self._channels[name] = (channel, record)

    @property
    def topics(self) -> list[str]:
        return list(self._channels)

    def write(self, topic: str, data: bytes, time_ns: int) -> None:
        channel, record = self._channels[topic]
        self._writer.add_message(channel_id=channel, log_time=time_ns, publish_time=time_ns,
                                 data=data, sequence=self._sequence)
        summary = self._summary
        summary.start_ns = time_ns if self._sequence == 0 else min(summary.start_ns, time_ns)
        summary.end_ns = max(summary.end_ns, time_ns)
        self._sequence += 1
        record.message_count += 1

    def counts(self) -> dict[str, int]:
        return {name: record.message_count for name, (_, record) in self._channels.items()}

    def close(self) -> None:
        """Finishes the MCAP file and writes ``metadata.yaml`` (idempotent)."""
        if self._closed:
            return
        self._closed = True
        text = metadata_yaml(self._summary)
        # rosbag2's MCAP storage keeps the bag's metadata in the file too.
        self._writer.add_metadata('rosbag2', {'serialized_metadata': text,
                                              'ROS_DISTRO': self._summary.ros_distro})
        self._writer.finish()
        self._file.close()
        (self.directory / METADATA).write_text(text)

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


@dataclass(frozen=True)
class BagTopic:
    name: str
    type: str
    offered_qos_profiles: str
    message_count: int


@dataclass(frozen=True)
class BagMessage:
    topic: str
    data: bytes
    time_ns: int


class BagReader:
    """Reads a recording this module (or rosbag2 with MCAP storage) wrote."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        path = self.directory / METADATA
        if not path.is_file():
            raise BagError(f'{path} not found: {self.directory} is not a finished rosbag2 recording')
        try:
            info = read_metadata(path.read_text())
        except ValueError as exc:
            raise BagError(f'{path}: {exc}') from None
        if info.get('storage_identifier') != 'mcap':
            raise BagError(f'{self.directory}: storage {info.get("storage_identifier")!r}; '
                           f'only mcap recordings can be played')
        self.files = [self.directory / name for name in info['relative_file_paths']]
        self.topics = [BagTopic(t['topic_metadata']['name'], t['topic_metadata']['type'],
                                t['topic_metadata'].get('offered_qos_profiles', ''),
                                int(t['message_count']))
                       for t in info['topics_with_message_count']]
        self.start_ns = int(info['starting_time']['nanoseconds_since_epoch'])
        self.duration_ns = int(info['duration']['nanoseconds'])

    def messages(self) -> Iterator[BagMessage]:
        """Every message of every file in log time order."""
        for path in self.files:
            with open(path, 'rb') as stream:
                for _schema, channel, message in make_reader(stream).iter_messages(
                        log_time_order=True):
                    yield BagMessage(channel.topic, message.data, message.log_time)
