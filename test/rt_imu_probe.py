"""Plays a tilted IMU to the rt executor and records what it answers, in its own process, over DDS.

    python test/rt_imu_probe.py --imu-seconds 4 --silence-seconds 2 --roll 0.1

Waits for the executor's first command, then publishes sensor_msgs/Imu on imu/data at 200 Hz
(torso rolled by --roll radians). The ``imu`` phase starts with the first command that answers
the tilt (discovery of this publisher takes a while on a loaded machine) and lasts --imu-seconds
and until the controller has reported "balancing". Then it stays silent while still listening,
for --silence-seconds and until the controller has reported the watchdog's ERROR and a command
followed, so the IMU watchdog is seen to trip. Every wait gives up after --wait seconds. Prints
one JSON line: the commands, timing and diagnostics received in each phase.
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
    parser.add_argument('--wait', type=float, default=60.0, help='give up on a phase after this long')
    args = parser.parse_args()

    rclpy.init()
    node = rclpy.create_node('rt_imu_probe')
    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    best_effort = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
    phase = {'name': 'waiting'}
    record = {p: {'commands': [], 'timing': [], 'diagnostics': []}
              for p in ('waiting', 'tilting', 'imu', 'silence')}

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

    next_imu = [0.0]

    def spin_until(done, publish, *, at_least=0.0):
        start = time.monotonic()
        while True:
            now = time.monotonic()
            if (now - start >= at_least and done()) or now - start > args.wait:
                return
            if publish and now >= next_imu[0]:
                imu.header.stamp = node.get_clock().now().to_msg()
                imu_pub.publish(imu)
                next_imu[0] = max(next_imu[0] + 0.005, now - 0.05)
            rclpy.spin_once(node, timeout_sec=0.001)

    def controller(phase_name, level):
        return any(d['name'] == 'rt_executor: control controller' and d['level'] == level
                   for d in record[phase_name]['diagnostics'])

    spin_until(lambda: record['waiting']['commands'], publish=False)
    phase['name'] = 'tilting'
    spin_until(lambda: any(c['data'] != [0.0] * 6 for c in record['tilting']['commands']),
               publish=True)
    phase['name'] = 'imu'
    spin_until(lambda: controller('imu', 0), publish=True, at_least=args.imu_seconds)
    phase['name'] = 'silence'

    def tripped_and_answered():
        diagnostics = record['silence']['diagnostics']
        trip = next((d['t'] for d in diagnostics if d['name'] == 'rt_executor: control controller'
                     and d['level'] == 2), None)
        return trip is not None and any(c['t'] > trip for c in record['silence']['commands'])
    spin_until(tripped_and_answered, publish=False, at_least=args.silence_seconds)
    for p in record.values():
        p['commands'] = p['commands'][-400:]
    print(json.dumps(record))
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
