"""One side of a DDS round trip, run as its own process by test_fastdds_profile.py.

    python dds_roundtrip.py talk TOPIC SECONDS     publishes a counter every 50 ms
    python dds_roundtrip.py listen TOPIC SECONDS   prints how many messages arrived, as JSON
"""

import json
import sys
import time

import rclpy
from std_msgs.msg import UInt32


def main(mode: str, topic: str, seconds: float) -> int:
    rclpy.init()
    node = rclpy.create_node(f'jetson_edge_dds_{mode}')
    received: list[int] = []
    if mode == 'talk':
        publisher = node.create_publisher(UInt32, topic, 10)
        counter = iter(range(1 << 31))
        node.create_timer(0.05, lambda: publisher.publish(UInt32(data=next(counter))))
    else:
        node.create_subscription(UInt32, topic, lambda msg: received.append(msg.data), 10)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    node.destroy_node()
    rclpy.shutdown()
    if mode == 'listen':
        print(json.dumps({'received': len(received)}))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
