"""Publishes a photo, a burst of oversized images, then the photo again (for the perception bounds test).

    python test/burst_publisher.py camera/image_raw photo.jpg --huge 3 --over 3 --rate 5 --seconds 40

Waits for a subscriber, sends the photo for --lead seconds, then --huge frames of 8000x8000 bgr8
(192 MB, larger than the shared-memory segment: fragmented UDP, which a busy host may not deliver
whole) and --over frames of 4000x3000 mono8 (12 MP, 12 MB: over the 4K pixel limit, yet carried
whole over shared memory), then the photo until --seconds. Prints a line as the burst starts and ends.
"""

import argparse
import array
import sys
import time

import rclpy
from jetson_edge_common.dds import use_large_data_transport
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from image_publisher import image_msg


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('topic')
    parser.add_argument('image')
    parser.add_argument('--huge', type=int, default=3)
    parser.add_argument('--over', type=int, default=3)
    parser.add_argument('--lead', type=float, default=8.0)
    parser.add_argument('--rate', type=float, default=5.0)
    parser.add_argument('--seconds', type=float, default=40.0)
    args = parser.parse_args()
    use_large_data_transport()  # the suite's transport, as every node of it uses
    rclpy.init()
    node = rclpy.create_node('burst_publisher')
    pub = node.create_publisher(Image, args.topic, QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    good = image_msg(args.image)
    end = time.monotonic() + args.seconds
    while pub.get_subscription_count() == 0 and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(0.5)

    def send(msg: Image) -> None:
        msg.header.stamp = node.get_clock().now().to_msg()
        msg.header.frame_id = 'camera_optical_frame'
        pub.publish(msg)

    burst_at = time.monotonic() + args.lead
    while time.monotonic() < burst_at:
        send(good)
        time.sleep(1.0 / args.rate)
    print(f'burst: {args.huge} of 8000x8000 bgr8, {args.over} of 4000x3000 mono8', flush=True)
    for count, (width, height, encoding, channels) in ((args.huge, (8000, 8000, 'bgr8', 3)),
                                                       (args.over, (4000, 3000, 'mono8', 1))):
        big = Image(height=height, width=width, encoding=encoding, step=width * channels)
        big.data = array.array('B', bytes(width * height * channels))
        for _ in range(count):
            send(big)
            time.sleep(0.2)
        del big
    print('burst sent', flush=True)
    while time.monotonic() < end and rclpy.ok():
        try:
            send(good)
        except Exception:  # the context shut down (SIGTERM/SIGINT from the test): stop quietly
            break
        time.sleep(1.0 / args.rate)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
