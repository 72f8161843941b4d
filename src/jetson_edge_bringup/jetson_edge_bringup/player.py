"""``jetson-edge play``: publishes a recording back with its timing (serialized bytes as they
were recorded), each topic with the QoS its recorded publishers offered."""

from __future__ import annotations

import sys
import time
from typing import TextIO

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.qos import QoSProfile

from jetson_edge_bringup.bag import BagError, BagReader
from jetson_edge_bringup.bag_metadata import parse_qos_yaml
from jetson_edge_bringup.recorder import matching_qos
from jetson_edge_common.message_types import message_type
from jetson_edge_common.dds import use_large_data_transport

DEPTH = 100


def publisher_qos(offered_qos_profiles: str) -> QoSProfile:
    """The recorded publishers' reliability and durability (reliable when none were recorded)."""
    offers = parse_qos_yaml(offered_qos_profiles) if offered_qos_profiles else []
    return matching_qos(offers, depth=DEPTH)


def run_play(directory: str, *, rate: float = 1.0, loop: bool = False, delay_s: float = 1.0,
             out: TextIO = sys.stderr) -> int:
    """Publishes the recording (again and again with ``loop``); returns messages published."""
    if rate <= 0:
        raise BagError(f'--rate {rate}: must be above 0')
    bag = BagReader(directory)
    use_large_data_transport()
    context = rclpy.Context()
    rclpy.init(context=context)
    published = 0
    try:
        node = rclpy.create_node('jetson_edge_player', context=context)
        publishers = {}
        for topic in bag.topics:
            try:
                msg_type = message_type(topic.type)
            except (AttributeError, ModuleNotFoundError, ValueError) as exc:
                raise BagError(f'{topic.name}: type {topic.type} is not installed here ({exc}); '
                               f'source the workspace that has it') from None
            publishers[topic.name] = node.create_publisher(
                msg_type, topic.name, publisher_qos(topic.offered_qos_profiles))
        print(f'jetson-edge: playing {directory}: {len(bag.topics)} topics, '
              f'{bag.duration_ns / 1e9:.1f} s at rate {rate}', file=out)
        time.sleep(delay_s)  # lets subscribers discover the publishers before the first message
        while context.ok():
            start, first = time.monotonic(), None
            for message in bag.messages():
                first = message.time_ns if first is None else first
                wait = start + (message.time_ns - first) / 1e9 / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                publishers[message.topic].publish(message.data)
                published += 1
            if not loop:
                break
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if context.ok():
            rclpy.shutdown(context=context)
    print(f'jetson-edge: published {published} messages', file=out)
    return published
