"""rosbag2's ``metadata.yaml`` and its QoS strings, as rosbag2 on Jazzy writes them (version 8).

Pure: plain data in, YAML text out; no rclpy. A topic's ``offered_qos_profiles`` is a YAML list
of the QoS of its publishers, enums as rmw's integers, durations as ``{sec, nsec}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

VERSION = 8
STORAGE = 'mcap'
SERIALIZATION = 'cdr'
# rmw's RMW_DURATION_INFINITE as rosbag2 writes it.
INFINITE = {'sec': 9223372036, 'nsec': 854775807}

# rmw enum values (rmw/types.h).
RELIABILITY = {'system_default': 0, 'reliable': 1, 'best_effort': 2, 'unknown': 3}
DURABILITY = {'system_default': 0, 'transient_local': 1, 'volatile': 2, 'unknown': 3}


@dataclass(frozen=True)
class Qos:
    """One publisher's offered QoS (what a recorder and a player need of it)."""

    reliability: str = 'reliable'         # a key of RELIABILITY
    durability: str = 'volatile'          # a key of DURABILITY
    history: int = 3                      # rmw's UNKNOWN: discovery does not tell history
    depth: int = 0


def matching_policies(offers: list[Qos]) -> tuple[str, str]:
    """(reliability, durability) of an endpoint that matches every one of ``offers``, as rosbag2
    chooses them: best effort if any publisher is (a reliable reader would not match it),
    transient local only if every publisher is."""
    best_effort = any(q.reliability == 'best_effort' for q in offers)
    latched = bool(offers) and all(q.durability == 'transient_local' for q in offers)
    return ('best_effort' if best_effort else 'reliable',
            'transient_local' if latched else 'volatile')


def qos_yaml(profiles: list[Qos]) -> str:
    """``offered_qos_profiles`` of a topic: rosbag2's YAML list of publisher profiles."""
    return yaml.safe_dump([{
        'history': q.history, 'depth': q.depth, 'reliability': RELIABILITY[q.reliability],
        'durability': DURABILITY[q.durability], 'deadline': dict(INFINITE),
        'lifespan': dict(INFINITE), 'liveliness': 1, 'liveliness_lease_duration': dict(INFINITE),
        'avoid_ros_namespace_conventions': False} for q in profiles], sort_keys=False)


def parse_qos_yaml(text: str) -> list[Qos]:
    """The profiles of an ``offered_qos_profiles`` string (integers or rosbag2's later names)."""
    names = {value: key for key, value in RELIABILITY.items()}
    durabilities = {value: key for key, value in DURABILITY.items()}
    profiles = []
    for entry in yaml.safe_load(text) or []:
        reliability, durability = entry.get('reliability', 1), entry.get('durability', 2)
        profiles.append(Qos(
            reliability=names.get(reliability, str(reliability).lower()),
            durability=durabilities.get(durability, str(durability).lower()),
            history=entry.get('history', 3) if isinstance(entry.get('history'), int) else 3,
            depth=int(entry.get('depth', 0))))
    return profiles


@dataclass
class TopicRecord:
    name: str
    type: str
    offered_qos_profiles: str
    type_description_hash: str = ''
    message_count: int = 0


@dataclass
class BagSummary:
    """What ``metadata.yaml`` says about one bag of one file."""

    file_name: str
    topics: list[TopicRecord] = field(default_factory=list)
    start_ns: int = 0
    end_ns: int = 0
    ros_distro: str = ''

    @property
    def message_count(self) -> int:
        return sum(t.message_count for t in self.topics)


def metadata_yaml(summary: BagSummary) -> str:
    duration = {'nanoseconds': max(0, summary.end_ns - summary.start_ns)}
    start = {'nanoseconds_since_epoch': summary.start_ns}
    info = {
        'version': VERSION,
        'storage_identifier': STORAGE,
        'duration': duration,
        'starting_time': start,
        'message_count': summary.message_count,
        'topics_with_message_count': [{
            'topic_metadata': {
                'name': t.name, 'type': t.type, 'serialization_format': SERIALIZATION,
                'offered_qos_profiles': t.offered_qos_profiles,
                'type_description_hash': t.type_description_hash},
            'message_count': t.message_count} for t in summary.topics],
        'compression_format': '',
        'compression_mode': '',
        'relative_file_paths': [summary.file_name],
        'files': [{'path': summary.file_name, 'starting_time': dict(start),
                   'duration': dict(duration), 'message_count': summary.message_count}],
        'custom_data': {},
        'ros_distro': summary.ros_distro,
    }
    return yaml.safe_dump({'rosbag2_bagfile_information': info}, sort_keys=False)


def read_metadata(text: str) -> dict:
    """The ``rosbag2_bagfile_information`` mapping of a ``metadata.yaml``."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or 'rosbag2_bagfile_information' not in data:
        raise ValueError('not a rosbag2 metadata.yaml (no rosbag2_bagfile_information)')
    return data['rosbag2_bagfile_information']
