"""Publishes one photo as sensor_msgs/Image from its own process (for the perception system tests).

    python test/image_publisher.py camera/image_raw photo.jpg --rate 5 --seconds 10 [--bad N]

With --bad N it first sends N malformed images (unsupported encoding, zero size, short data,
inconsistent step, in turn), to check they are counted and skipped without harm. It prints a line
as it starts sending (once a subscriber is there).
"""

import argparse
import array
import sys
import time

import cv2
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image


def image_msg(path: str) -> Image:
    pixels = cv2.imread(path)
    msg = Image(height=pixels.shape[0], width=pixels.shape[1], encoding='bgr8', step=pixels.shape[1] * 3)
    msg.data = array.array('B', pixels.tobytes())
    msg.header.frame_id = 'camera_optical_frame'
    return msg


def bad_msgs(good: Image) -> list[Image]:
    short = Image(height=good.height, width=good.width, encoding='bgr8', step=good.step)
    short.data = array.array('B', bytes(good.step * good.height // 2))
    return [Image(height=2, width=2, encoding='yuv422', step=4, data=array.array('B', bytes(8))),
            Image(height=0, width=0, encoding='bgr8', step=0),
            short,
            Image(height=2, width=4, encoding='rgb8', step=5, data=array.array('B', bytes(10)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('topic')
    parser.add_argument('image')
    parser.add_argument('--rate', type=float, default=5.0)
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--bad', type=int, default=0)
    args = parser.parse_args()
    rclpy.init()
    node = rclpy.create_node('image_publisher')
    pub = node.create_publisher(Image, args.topic, QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT))
    good = image_msg(args.image)
    bad = bad_msgs(good)
    end = time.monotonic() + args.seconds
    while pub.get_subscription_count() == 0 and time.monotonic() < end:
        time.sleep(0.05)  # best effort: frames sent before discovery completes are lost
    time.sleep(0.5)
    print(f'sending: {args.bad} bad, then the photo', flush=True)
    sent = 0
    while time.monotonic() < end and rclpy.ok():
        msg = bad[sent % len(bad)] if sent < args.bad else good
        msg.header.stamp = node.get_clock().now().to_msg()
        msg.header.frame_id = 'camera_optical_frame'
        try:
            pub.publish(msg)
        except Exception:  # the context shut down (SIGTERM/SIGINT from the test): stop quietly
            break
        sent += 1
        time.sleep(1.0 / args.rate)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
