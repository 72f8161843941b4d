"""Stands in for perception and a battery next to the power manager, and watches /diagnostics.

    python test/power_probe.py --timeout 90

A node named ``perception`` declares ``max_rate_hz`` and publishes Detection2DArray at that rate
(as perception obeys it), so the thermal model heats with what the manager allows.  Once the
manager has lowered the rate, a BatteryState at 10 % is published for a few seconds.  Also
tries an inconsistent threshold (warm above hot), which the manager must refuse.  Prints JSON.
"""

import argparse
import json
import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue, SetParametersResult
from rcl_interfaces.srv import SetParameters
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import BatteryState
from vision_msgs.msg import Detection2DArray


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--timeout', type=float, default=90.0)
    parser.add_argument('--battery-seconds', type=float, default=6.0)
    args = parser.parse_args()
    rclpy.init()
    perception = rclpy.create_node('perception')
    probe = rclpy.create_node('power_probe')
    rate = [perception.declare_parameter('max_rate_hz', 30.0).value]
    sets: list[tuple[float, float]] = []
    start = time.monotonic()

    def on_set(params):
        for p in params:
            if p.name == 'max_rate_hz':
                rate[0] = float(p.value)
                sets.append((round(time.monotonic() - start, 2), rate[0]))
        return SetParametersResult(successful=True)
    perception.add_on_set_parameters_callback(on_set)
    detections = perception.create_publisher(Detection2DArray, 'perception/detections', 10)
    due = [time.monotonic()]

    def publish():
        now = time.monotonic()
        while rate[0] > 0 and due[0] <= now:
            detections.publish(Detection2DArray())
            due[0] += 1.0 / rate[0]
        if due[0] < now - 1.0:
            due[0] = now
    perception.create_timer(0.01, publish)

    latest: dict[str, dict] = {}
    history: list[dict] = []

    def on_diag(msg):
        for s in msg.status:
            if s.name.startswith('power_manager: '):
                entry = {'level': s.level[0] if isinstance(s.level, bytes) else int(s.level),
                         'message': s.message, 'values': {kv.key: kv.value for kv in s.values}}
                latest[s.name.split(': ', 1)[1]] = entry
                if s.name.endswith('thermal policy'):
                    history.append({'t': round(time.monotonic() - start, 2),
                                    'level': entry['values'].get('level'),
                                    'mode': entry['values'].get('power_mode_target'),
                                    'battery_low': entry['values'].get('battery_low')})
    probe.create_subscription(DiagnosticArray, '/diagnostics', on_diag,
                              QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    battery = probe.create_publisher(BatteryState, 'battery_state', 10)
    client = probe.create_client(SetParameters, '/power_manager/set_parameters')

    executor = rclpy.executors.SingleThreadedExecutor()
    executor.add_node(perception)
    executor.add_node(probe)

    def spin_until(cond, limit):
        end = time.monotonic() + limit
        while time.monotonic() < end and not cond():
            executor.spin_once(timeout_sec=0.02)

    result: dict = {}
    spin_until(lambda: client.service_is_ready() and 'board' in latest, args.timeout)
    result['first_board'] = latest.get('board')
    value = ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=95.0)
    future = client.call_async(SetParameters.Request(
        parameters=[Parameter(name='warm_c', value=value)]))
    spin_until(future.done, 10.0)
    reply = future.result()
    result['warm_95'] = {'successful': reply.results[0].successful,
                         'reason': reply.results[0].reason} if reply else None

    spin_until(lambda: any(r < 30.0 for _, r in sets), args.timeout)
    spin_until(lambda: latest.get('thermal policy', {}).get('values', {}).get('level')
               in ('HOT', 'CRITICAL'), 20.0)
    result['heated'] = latest.get('thermal policy')
    battery_end = time.monotonic() + args.battery_seconds
    msg = BatteryState(percentage=0.10, present=True)

    def battery_phase_done():
        battery.publish(msg)
        return time.monotonic() > battery_end
    spin_until(battery_phase_done, args.battery_seconds + 1)
    result['battery_low'] = latest.get('thermal policy')
    result['memory'] = latest.get('memory')
    result['actuators'] = latest.get('actuators')
    result['rate_sets'] = sets
    result['history'] = history[-200:]
    print(json.dumps(result))
    rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
