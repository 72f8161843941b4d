"""Publishes a small scene for the viewer from its own process: a photo on camera/image_raw, two
detections stamped like each frame on perception/detections, a point cloud on lidar/points, IMU
samples on imu/data and loop timing on rt/timing. Ends on SIGINT/SIGTERM (or after --seconds)
and prints one JSON line: frames published and the longest publish call.

    python test/viewer_scene_publisher.py photo.jpg --rate 10 --points 2000 --seconds 60
"""

import argparse
import array
import json
import signal
import sys
import time

import cv2
import numpy as np
import rclpy
from jetson_edge_msgs.msg import LoopTiming
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, Imu, PointCloud2
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from jetson_edge_common.pointcloud import padded_dtype, points_to_cloud

BEST_EFFORT = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
BOXES = [('dog', 0.9, 0.5, 0.5, 0.4, 0.5), ('person', 0.7, 0.2, 0.3, 0.1, 0.3)]  # label, score, cx, cy, w, h


def detections(header, width: int, height: int) -> Detection2DArray:
    msg = Detection2DArray(header=header)
    for label, score, cx, cy, w, h in BOXES:
        d = Detection2D(header=header)
        d.bbox.center.position.x, d.bbox.center.position.y = cx * width, cy * height
        d.bbox.size_x, d.bbox.size_y = w * width, h * height
        hypothesis = ObjectHypothesisWithPose()
        hypothesis.hypothesis.class_id, hypothesis.hypothesis.score = label, score
        d.results = [hypothesis]
        msg.detections.append(d)
    return msg


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('image')
    parser.add_argument('--rate', type=float, default=10.0)
    parser.add_argument('--points', type=int, default=2000)
    parser.add_argument('--seconds', type=float, default=60.0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    rclpy.init()
    node = rclpy.create_node('viewer_scene_publisher')
    image_pub = node.create_publisher(Image, 'camera/image_raw', BEST_EFFORT)
    detections_pub = node.create_publisher(Detection2DArray, 'perception/detections', RELIABLE)
    cloud_pub = node.create_publisher(PointCloud2, 'lidar/points', BEST_EFFORT)
    imu_pub = node.create_publisher(Imu, 'imu/data', BEST_EFFORT)
    timing_pub = node.create_publisher(LoopTiming, 'rt/timing', RELIABLE)
    pixels = cv2.imread(args.image)
    image = Image(height=pixels.shape[0], width=pixels.shape[1], encoding='bgr8', step=pixels.shape[1] * 3)
    image.data = array.array('B', pixels.tobytes())
    dtype = padded_dtype(np.dtype([('x', '<f4'), ('y', '<f4'), ('z', '<f4'), ('intensity', '<f4')]))
    points = np.zeros(args.points, dtype)
    points['x'] = np.linspace(-5, 5, args.points)
    points['intensity'] = np.arange(args.points) % 100
    frames, longest = 0, 0.0
    period = 1.0 / args.rate
    end = time.monotonic() + args.seconds
    next_at = time.monotonic()
    try:
        while time.monotonic() < end:
            stamp = node.get_clock().now().to_msg()
            image.header.stamp, image.header.frame_id = stamp, 'camera_optical_frame'
            cloud = points_to_cloud(points, image.header.__class__(stamp=stamp, frame_id='velodyne'))
            imu = Imu()
            imu.header.stamp, imu.header.frame_id = stamp, 'imu_link'
            imu.linear_acceleration.z = 9.81
            started = time.perf_counter()
            image_pub.publish(image)
            detections_pub.publish(detections(image.header, image.width, image.height))
            cloud_pub.publish(cloud)
            imu_pub.publish(imu)
            if frames % int(max(args.rate, 1)) == 0:
                timing = LoopTiming(loop_name='control', period_s=0.002, cycles=500)
                timing.header.stamp = stamp
                timing_pub.publish(timing)
            longest = max(longest, time.perf_counter() - started)
            frames += 1
            next_at += period
            time.sleep(max(0.0, next_at - time.monotonic()))
    except KeyboardInterrupt:
        pass
    print(json.dumps({'frames': frames, 'longest_publish_s': longest}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
