"""``jetson-edge record`` and ``play`` against the running sim, over real DDS between processes.

The recording is read back with independent readers (rosbags' rosbag2 reader, the mcap library's
ROS 2 decoder) and compared, message by message (digests of the serialized bytes), with what an
independent subscriber of the same run received. A recording of the sim's camera is then played
into the sim's perception node started alone, and detections come out for the recorded frames.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter

import pytest
import rclpy

from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore

from jetson_edge_bench.record import (RawTap, compare, digest, failures, format_table,
                                              recording_window)
from jetson_edge_bringup.soak import expected_topics
from jetson_edge_common.message_types import message_type
from jetson_edge_common.dds import LARGE_DATA_PROFILE, use_large_data_transport
from suite_helpers import load_plan, monitored_topics, wait_for, write_profile
from system_helpers import ROOT

STARTUP_S = 180.0
RECORD_S = 8.0
STORE = get_typestore(Stores.ROS2_JAZZY)
ENV = {**os.environ, 'FASTRTPS_DEFAULT_PROFILES_FILE': str(LARGE_DATA_PROFILE)}


def record(directory, seconds: float, *topics: str) -> subprocess.CompletedProcess:
    return subprocess.run(['jetson-edge', 'record', '-o', str(directory), '--duration',
                           str(seconds), *topics], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=seconds + 120)


def read_with_rosbags(directory) -> dict[str, list[tuple[int, bytes]]]:
    found: dict[str, list[tuple[int, bytes]]] = {}
    with Reader(directory) as reader:
        for connection, stamp, raw in reader.messages():
            found.setdefault(connection.topic, []).append((stamp, digest(bytes(raw))))
    return found


@pytest.mark.long  # the whole sim recorded beside an independent subscriber; the replay test stays in the default run
def test_recording_of_the_sim_holds_what_a_subscriber_received(start_suite, tmp_path):
    use_large_data_transport()  # the tap receives whole frames too
    profile = write_profile(tmp_path)
    topics = monitored_topics(load_plan(profile))
    tap = RawTap(topics, node_name='record_test_tap')
    try:
        suite = start_suite(str(profile))
        wait_for(lambda: suite.alive() and all(tap.seen().values()), STARTUP_S,
                 lambda: f'every expected topic; silent: {[t for t, s in tap.seen().items() if not s]}')
        result = record(tmp_path / 'bag', RECORD_S)
        time.sleep(1.0)
    finally:
        tap.close()
    print(result.stderr[-3000:])
    assert result.returncode == 0, result.stderr[-3000:]

    recorded = read_with_rosbags(tmp_path / 'bag')
    with Reader(tmp_path / 'bag') as reader:
        start = reader.start_time
        end = reader.end_time
        types = {c.topic: c.msgtype for c in reader.connections}
    assert {t: types.get(t) for t in topics} == {t: spec[0] for t, spec in topics.items()}
    window = recording_window(start, end)
    rows = compare(tap.seen(), recorded, tap.qos, start_ns=window[0], end_ns=window[1])
    print(format_table(rows, seconds=(window[1] - window[0]) / 1e9))
    # Completeness is a benchmark bound (`jetson-edge bench record`, issue 14), not a test: on a
    # loaded 2-core VM a reliable reader can still fall behind now and then. What must hold is
    # that every topic is recorded and what is recorded is what the subscriber received (the
    # digests match); losses are printed above and by the benchmark.
    print('bound (benchmark):', failures(rows) or 'nothing missed')
    assert all(r.subscriber > 0 and r.recorded > 0 for r in rows), rows
    assert all(r.recorded - r.extra > 0.5 * r.recorded for r in rows), rows

    # mcap's decoder builds every type from the stored definitions alone
    with open(tmp_path / 'bag' / 'bag_0.mcap', 'rb') as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        counts, first = Counter(), {}
        for _schema, channel, _message, msg in reader.iter_decoded_messages():
            counts[channel.topic] += 1
            first.setdefault(channel.topic, msg)
    assert counts == Counter({t: len(m) for t, m in recorded.items()})
    assert set(topics) <= set(first)
    assert first['/camera/image_raw'].height > 0 and first['/camera/image_raw'].encoding


def test_recorded_camera_replays_into_perception(start_suite, topic_monitor, tmp_path):
    profile = write_profile(tmp_path, {'perception': {'companions': []}})
    plan = load_plan(profile)
    image_topic, detections_topic = '/camera/image_raw', '/perception/detections'
    detection_type = expected_topics(plan)[detections_topic]['type']
    # started before the camera: the topic appears while recording; Ctrl-C ends the recording
    recorder = subprocess.Popen(['jetson-edge', 'record', '-o', str(tmp_path / 'camera_bag'),
                                 image_topic], cwd=ROOT, env=ENV, start_new_session=True)
    try:
        camera = start_suite(str(profile), only=['camera'])
        watch = topic_monitor({image_topic: ('sensor_msgs/msg/Image', 'sensor')})
        wait_for(lambda: camera.alive() and watch.snapshot()[image_topic], STARTUP_S,
                 'camera frames')
        time.sleep(6.0)
    finally:
        os.killpg(recorder.pid, signal.SIGINT)
    assert recorder.wait(60) == 0
    camera.stop()
    with Reader(tmp_path / 'camera_bag') as reader:
        assert [c.topic for c in reader.connections] == [image_topic]
        frames = {(m.header.stamp.sec, m.header.stamp.nanosec) for m in
                  (STORE.deserialize_cdr(raw, c.msgtype) for c, _t, raw in reader.messages())}
    assert frames

    perception = start_suite(str(profile), only=['perception'])
    stamps: list[tuple[int, int]] = []
    found: list[int] = []
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node('record_test_detections', context=context)
    node.create_subscription(message_type(detection_type), detections_topic,
                             lambda m: (stamps.append((m.header.stamp.sec, m.header.stamp.nanosec)),
                                        found.append(len(m.detections))), 10)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    player = subprocess.Popen(['jetson-edge', 'play', str(tmp_path / 'camera_bag'), '--loop'],
                              cwd=ROOT, env=ENV, start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_S
        while sum(map(bool, found)) < 3 and time.monotonic() < deadline:
            assert perception.alive(), perception.output()[-3000:]
            assert player.poll() is None, 'the player stopped'
            executor.spin_once(timeout_sec=0.5)
    finally:
        os.killpg(player.pid, signal.SIGINT)
        player.wait(30)
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
    assert sum(map(bool, found)) >= 3, f'no objects found in the replayed frames ({len(found)} arrays)'
    assert set(stamps) <= frames, 'detections for frames that are not in the recording'
