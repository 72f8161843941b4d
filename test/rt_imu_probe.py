"""Plays a tilted IMU to the rt executor and records what it answers, in its own process, over DDS.

    python test/rt_imu_probe.py --imu-seconds 4 --silence-seconds 2 --roll 0.1

Publishes sensor_msgs/Imu on imu/data at 200 Hz (torso rolled by --roll radians) for
--imu-seconds, then stays silent for --silence-seconds while still listening, so the executor's
IMU watchdog can be seen to trip. Prints one JSON line: the commands, timing and diagnostics
received in each phase.
"""

import argparse
import json
import math
import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from jetson_edge_msgs.msg import LoopTiming
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Imu
from std_msgs.msg import Float64MultiArray


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--imu-seconds', type=float, default=4.0)
    parser.add_argument('--silence-seconds', type=float, default=2.0)
    parser.add_argument('--roll', type=float, default=0.1)
    parser.add_argument('--wait', type=float, default=30.0, help='give up if no command arrives within this long')
    args = parser.parse_args()

    rclpy.init()
    node = rclpy.create_node('rt_imu_probe')
    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    best_effort = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
    phase = {'name': 'waiting'}
    record = {p: {'commands': [], 'timing': [], 'diagnostics': []} for p in ('waiting', 'imu', 'silence')}

    def on_command(msg):
        record[phase['name']]['commands'].append({'t': time.monotonic(), 'data': list(msg.data),
                                                  'dims': [(d.label, d.size) for d in msg.layout.dim]})

    def on_timing(msg):
        record[phase['name']]['timing'].append({
            'loop': msg.loop_name, 'period_s': msg.period_s, 'cycles': msg.cycles, 'overruns': msg.overruns,
            'p99_s': msg.wakeup_latency_p99_s, 'exec_p99_s': msg.execution_p99_s})

    def on_diagnostics(msg):
        for s in msg.status:
            if s.name.startswith('rt_executor'):
                level = s.level[0] if isinstance(s.level, bytes) else int(s.level)
                record[phase['name']]['diagnostics'].append({
                    't': time.monotonic(), 'name': s.name, 'level': level, 'message': s.message,
                    'values': {kv.key: kv.value for kv in s.values}})

    node.create_subscription(Float64MultiArray, 'control/command', on_command, reliable)
    node.create_subscription(LoopTiming, 'rt/timing', on_timing, reliable)
    node.create_subscription(DiagnosticArray, '/diagnostics', on_diagnostics, reliable)
    imu_pub = node.create_publisher(Imu, 'imu/data', best_effort)
    imu = Imu()
    imu.header.frame_id = 'imu_link'
    imu.orientation.x = math.sin(args.roll / 2)
    imu.orientation.w = math.cos(args.roll / 2)

    def spin_for(seconds, publish):
        end = time.monotonic() + seconds
        next_imu = time.monotonic()
        while time.monotonic() < end:
            if publish and time.monotonic() >= next_imu:
                imu.header.stamp = node.get_clock().now().to_msg()
                imu_pub.publish(imu)
                next_imu += 0.005
            rclpy.spin_once(node, timeout_sec=0.001)

    start = time.monotonic()
    while not record['waiting']['commands'] and time.monotonic() - start < args.wait:
        spin_for(0.1, publish=False)
    phase['name'] = 'imu'
    spin_for(args.imu_seconds, publish=True)
    phase['name'] = 'silence'
    spin_for(args.silence_seconds, publish=False)
    for p in record.values():
        p['commands'] = p['commands'][-400:]
    print(json.dumps(record))
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
