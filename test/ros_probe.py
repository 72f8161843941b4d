"""Listens to one topic in its own process and prints what arrived as JSON.

    python test/ros_probe.py lidar/points sensor_msgs/msg/PointCloud2 --seconds 5 --qos sensor

The system tests use it so that every check crosses real DDS between separate processes.
"""

import argparse
import json
import sys
import time

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy

from jetson_edge_common.message_types import message_type


def summarize(msg) -> dict:
    kind = type(msg).__name__
    if kind == 'PointCloud2':
        return {'width': msg.width, 'height': msg.height, 'point_step': msg.point_step,
                'fields': [(f.name, f.offset, f.datatype) for f in msg.fields],
                'frame_id': msg.header.frame_id}
    if kind == 'DiagnosticArray':
        return {'status': [{'name': s.name, 'level': s.level[0] if isinstance(s.level, bytes)
                            else int(s.level), 'message': s.message,
                            'values': {kv.key: kv.value for kv in s.values}}
                           for s in msg.status]}
    if kind == 'Detection2DArray':
        return {'frame_id': msg.header.frame_id, 'detections': [
            {'frame_id': d.header.frame_id,
             'results': [(r.hypothesis.class_id, r.hypothesis.score) for r in d.results],
             'bbox': (d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.size_x, d.bbox.size_y)}
            for d in msg.detections]}
    if kind == 'Image':
        summary = {'width': msg.width, 'height': msg.height, 'encoding': msg.encoding,
                   'frame_id': msg.header.frame_id}
        if msg.encoding == '32FC1':  # a depth image: its stamp and what its values are
            import numpy as np
            values = np.frombuffer(bytes(msg.data), '<f4' if not msg.is_bigendian else '>f4')
            summary.update(stamp_ns=msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec,
                           finite=bool(np.isfinite(values).all()), min=float(np.nanmin(values)),
                           max=float(np.nanmax(values)), size=int(values.size))
        return summary
    return {'repr': repr(msg)[:2000]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('topic')
    parser.add_argument('type')
    parser.add_argument('--seconds', type=float, default=5.0,
                        help='listen this long after the first message')
    parser.add_argument('--wait', type=float, default=30.0,
                        help='give up if nothing arrives within this long')
    parser.add_argument('--qos', choices=('sensor', 'reliable'), default='reliable')
    parser.add_argument('--keep', type=int, default=3, help='messages to summarize')
    args = parser.parse_args()

    rclpy.init()
    node = rclpy.create_node('ros_probe')
    qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.BEST_EFFORT
                     if args.qos == 'sensor' else ReliabilityPolicy.RELIABLE)
    stamps: list[float] = []
    kept: list[dict] = []

    def on_message(msg):
        stamps.append(time.monotonic())
        if len(kept) < args.keep or type(msg).__name__ == 'DiagnosticArray':
            kept.append(summarize(msg))
            del kept[:-max(args.keep, 1) * 20]

    node.create_subscription(message_type(args.type), args.topic, on_message, qos)
    start = time.monotonic()
    while rclpy.ok():
        rclpy.spin_once(node, timeout_sec=0.05)
        now = time.monotonic()
        if not stamps and now - start > args.wait:
            break
        if stamps and now - stamps[0] > args.seconds:
            break
    # Who publishes, with the type hash each announces (REP 2011; Humble's rclpy has none).
    publishers = [{'node': info.node_name, 'type': info.topic_type,
                   'type_hash': str(info.topic_type_hash) if hasattr(info, 'topic_type_hash') else None}
                  for info in node.get_publishers_info_by_topic(args.topic)]
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    result = {'topic': args.topic, 'count': len(stamps),
              'rate_hz': (len(stamps) - 1) / span if span > 0 else 0.0,
              'first_after_s': stamps[0] - start if stamps else None, 'messages': kept,
              'publishers': publishers}
    print(json.dumps(result))
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
