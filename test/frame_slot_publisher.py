"""Publishes FrameSlot messages naming a frame ring, from its own process (for the frame-ring system tests).

    python test/frame_slot_publisher.py camera/image_raw/shm RING_NAME --rate 5 --seconds 10

It stands for a camera on another host: the ring it names does not exist on this one.
"""

import argparse
import time

import rclpy
from jetson_edge_msgs.msg import FrameSlot
from rclpy.qos import QoSProfile, ReliabilityPolicy


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('topic')
    parser.add_argument('ring')
    parser.add_argument('--rate', type=float, default=5.0)
    parser.add_argument('--seconds', type=float, default=10.0)
    args = parser.parse_args()
    rclpy.init()
    node = rclpy.create_node('frame_slot_publisher')
    pub = node.create_publisher(FrameSlot, args.topic, QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT))
    end = time.monotonic() + args.seconds
    while pub.get_subscription_count() == 0 and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(0.5)
    frame = 0
    while time.monotonic() < end and rclpy.ok():
        msg = FrameSlot(ring=args.ring, slot=frame % 4, sequence=2 * (frame + 1))
        msg.header.stamp = node.get_clock().now().to_msg()
        msg.header.frame_id = 'camera_optical_frame'
        pub.publish(msg)
        frame += 1
        time.sleep(1.0 / args.rate)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
