"""End-to-end latency over ROS for the benchmark: publisher process -> perception node process -> this process.

`end_to_end` starts the perception node (the real executable's code, `python -m
jetson_edge_perception.node`) and a publisher process (`python -m jetson_edge_bench.perception_ros
publish ...`), then receives Detection2DArray messages here. Latency is the receive wall-clock time
minus the image header stamp, which the node copies (same host, same clock). With `ring`, the
publisher writes each frame into a shared-memory frame ring and publishes its FrameSlot, as the
camera source does, and the node reads the ring (`frame_ring`). With `relay`, a relay process
(`python -m jetson_edge_bench.perception_ros relay ...`) takes the node's place: it answers each
frame at once with an empty Detection2DArray of the frame's header, so the run measures the
transport alone, the floor under any node's end-to-end time over that path.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

from jetson_edge_common.dds import use_large_data_transport

WARMUP_RESULTS = 5
RING_SLOTS = 4


def _params_file(directory: Path, *, card_path: Path, backend: str, model_path: Sequence[str], topic: str,
                 threads: int, ring: bool) -> Path:
    params = {'detection_model': str(card_path), 'segmentation_model': '', 'backends': [backend],
              'model_path': list(model_path), 'image_topic': topic, 'detections_topic': f'{topic}_detections',
              'score_threshold': 0.5, 'intra_op_threads': threads, 'diagnostics_period_s': 0.5,
              'frame_ring': ring}
    path = directory / 'perception.yaml'
    path.write_text(yaml.safe_dump({'/bench_perception': {'ros__parameters': params}}))
    return path


def end_to_end(*, card_path: Path, backend: str, image_path: Path, model_path: Sequence[str], frames: int,
               period_s: float, threads: int = 0, ring: bool = False, relay: bool = False,
               startup_timeout_s: float = 60.0) -> dict[str, object]:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from jetson_edge_common import qos
    from vision_msgs.msg import Detection2DArray

    use_large_data_transport()  # before rclpy.init: the participant reads it
    transports = os.environ.get('FASTRTPS_DEFAULT_PROFILES_FILE', 'default transports')
    topic = f'bench_{os.getpid()}/image'
    latencies: list[float] = []
    received = 0
    node_values: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix='jetson_edge_bench_') as tmp:
        params = _params_file(Path(tmp), card_path=card_path, backend=backend, model_path=model_path, topic=topic,
                              threads=threads, ring=ring)
        node_log = open(Path(tmp) / 'node.log', 'wb')
        command = (['-m', 'jetson_edge_bench.perception_ros', 'relay', '--topic', topic] + (['--ring'] if ring else [])
                   if relay else ['-m', 'jetson_edge_perception.node', '--ros-args', '-r', '__node:=bench_perception',
                                  '--params-file', str(params)])
        node = subprocess.Popen([sys.executable, *command], stdout=node_log, stderr=subprocess.STDOUT)
        rclpy.init()
        receiver = rclpy.create_node('bench_receiver')

        def on_detections(msg: Detection2DArray) -> None:
            nonlocal received
            received += 1
            stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
            latencies.append(time.time() - stamp)

        def on_diagnostics(msg: DiagnosticArray) -> None:
            for status in msg.status:
                if status.name == 'bench_perception: inference':
                    node_values.update({kv.key: kv.value for kv in status.values})

        receiver.create_subscription(Detection2DArray, f'{topic}_detections', on_detections, qos.RELIABLE_STREAM)
        receiver.create_subscription(DiagnosticArray, '/diagnostics', on_diagnostics, qos.DIAGNOSTICS)
        # One executor for the whole run (rclpy.spin_once(node) adds and removes the node each call).
        executor = SingleThreadedExecutor()
        executor.add_node(receiver)
        publisher = subprocess.Popen([sys.executable, '-m', 'jetson_edge_bench.perception_ros', 'publish',
                                      '--topic', topic, '--image', str(image_path), '--period', str(period_s),
                                      '--count', str(frames + WARMUP_RESULTS), '--startup', str(startup_timeout_s),
                                      '--ring', str(RING_SLOTS if ring else 0)])
        try:
            deadline = time.monotonic() + startup_timeout_s + (frames + WARMUP_RESULTS) * period_s + 10
            while publisher.poll() is None and time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.05)
            end = time.monotonic() + 2.0
            while time.monotonic() < end:  # the last results in flight
                executor.spin_once(timeout_sec=0.05)
        finally:
            for process in (publisher, node):
                if process.poll() is None:
                    process.send_signal(__import__('signal').SIGINT)
                    try:
                        process.wait(10)
                    except subprocess.TimeoutExpired:
                        process.kill()
            executor.shutdown()
            receiver.destroy_node()
            rclpy.try_shutdown()
            node_log.close()
    measured = latencies[WARMUP_RESULTS:]
    data = np.asarray(measured) * 1e3
    sent = frames + WARMUP_RESULTS
    return {'p50_ms': float(np.percentile(data, 50)) if data.size else float('nan'),
            'p99_ms': float(np.percentile(data, 99)) if data.size else float('nan'),
            'sent': sent, 'received': received, 'period_ms': period_s * 1e3, 'dds_profile': transports,
            **{f'node_{stage}_p50_ms': float(node_values.get(f'detection_{stage}_p50_ms', 'nan'))
               for stage in ('preprocess', 'inference', 'postprocess')},
            **{f'node_{name}_p50_ms': float(node_values.get(f'{name}_p50_ms', 'nan'))
               for name in ('input_age', 'handoff', 'latency', 'publish')},
            'node_dropped': int(node_values.get('dropped_total', 0)),
            'node_frame_input': node_values.get('frame_input', '?')}


def publish(argv: Sequence[str]) -> int:
    """The publisher process: waits for the node's subscription, then sends one image every period."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--topic', required=True)
    parser.add_argument('--image', required=True)
    parser.add_argument('--period', type=float, required=True)
    parser.add_argument('--count', type=int, required=True)
    parser.add_argument('--startup', type=float, default=60.0)
    parser.add_argument('--ring', type=int, default=0, help='frame ring slots (0: publish Image messages)')
    args = parser.parse_args(argv)

    import cv2
    import rclpy
    from jetson_edge_common import qos
    from jetson_edge_common.image import ndarray_to_image
    from jetson_edge_msgs.msg import FrameSlot
    from jetson_edge_perception.frame_ring import FrameRingWriter, slot_topic
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node('bench_publisher')
    pixels = cv2.imread(args.image)
    ring = FrameRingWriter(f'jetson_edge_bench_{os.getpid()}', slots=args.ring) if args.ring else None
    if ring is None:
        pub = node.create_publisher(Image, args.topic, qos.SENSOR_STREAM)
        msg = ndarray_to_image(pixels, 'bgr8')
    else:
        pub = node.create_publisher(FrameSlot, slot_topic(args.topic), qos.SENSOR_STREAM)
        msg = FrameSlot()
    msg.header.frame_id = 'camera_optical_frame'
    deadline = time.monotonic() + args.startup
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    time.sleep(3.0)  # model load in the node's worker; frames sent meanwhile would only be dropped as stale
    next_tick = time.monotonic()
    for _ in range(args.count):
        now = time.time()
        msg.header.stamp.sec = int(now)
        msg.header.stamp.nanosec = int((now - int(now)) * 1e9)
        if ring is not None:  # as the camera source does: the pixels into the ring, their place over DDS
            ref = ring.write(pixels, 'bgr8')
            msg.ring, msg.slot, msg.sequence = ref.ring, ref.slot, ref.sequence
        pub.publish(msg)
        next_tick += args.period
        time.sleep(max(0.0, next_tick - time.monotonic()))
    if ring is not None:
        ring.close()
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


def relay(argv: Sequence[str]) -> int:
    """The relay process: each frame (its FrameSlot with --ring, else the Image) answered at once with an empty
    Detection2DArray of its header, on the topic the perception node would use."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--topic', required=True)
    parser.add_argument('--ring', action='store_true')
    args = parser.parse_args(argv)

    import rclpy
    from rclpy.executors import ExternalShutdownException
    from jetson_edge_common import qos
    from jetson_edge_msgs.msg import FrameSlot
    from jetson_edge_perception.frame_ring import slot_topic
    from sensor_msgs.msg import Image
    from vision_msgs.msg import Detection2DArray

    use_large_data_transport()
    rclpy.init()
    node = rclpy.create_node('bench_relay')
    pub = node.create_publisher(Detection2DArray, f'{args.topic}_detections', qos.RELIABLE_STREAM)

    def answer(msg) -> None:
        pub.publish(Detection2DArray(header=msg.header))

    kind, topic = (FrameSlot, slot_topic(args.topic)) if args.ring else (Image, args.topic)
    node.create_subscription(kind, topic, answer, qos.SENSOR_STREAM)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    commands = {'publish': publish, 'relay': relay}
    if len(sys.argv) > 1 and sys.argv[1] in commands:
        raise SystemExit(commands[sys.argv[1]](sys.argv[2:]))
    raise SystemExit('usage: python -m jetson_edge_bench.perception_ros publish --topic T --image F --period S '
                     '--count N | relay --topic T [--ring]')
