"""Stands in for perception and a battery next to the power manager, and watches /diagnostics.

    python test/power_probe.py --timeout 90

A node named ``perception`` declares ``max_rate_hz`` (30 Hz) and ``load_level`` and publishes
Detection2DArray at their product (as perception maps its load level to its own rate), so the
thermal model heats with what the manager allows.  It publishes nothing until the manager has
asked for a load level: without detections the model settles below WARM,
so the manager's first request is made on a cool board, whenever its discovery of this node
completes.  Once the manager has halved the load level (HOT), a BatteryState at 10 % is published until
the policy reports the battery low.  Also tries an inconsistent threshold (warm above hot), which
the manager must refuse.  Every phase waits for the state it needs, up to ``--timeout`` seconds.
Prints JSON.
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
    args = parser.parse_args()
    rclpy.init()
    perception = rclpy.create_node('perception')
    probe = rclpy.create_node('power_probe')
    max_rate = perception.declare_parameter('max_rate_hz', 30.0).value
    rate = [max_rate * perception.declare_parameter('load_level', 1.0).value]
    sets: list[tuple[float, float]] = []
    start = time.monotonic()

    def on_set(params):
        for p in params:
            if p.name == 'load_level':
                rate[0] = max_rate * float(p.value)
                sets.append((round(time.monotonic() - start, 2), float(p.value)))
        return SetParametersResult(successful=True)
    perception.add_on_set_parameters_callback(on_set)
    detections = perception.create_publisher(Detection2DArray, 'perception/detections', 10)
    due = [time.monotonic()]

    def publish():
        now = time.monotonic()
        if not sets:  # not asked yet: idle, so the board stays cool until the manager acts
            due[0] = now
            return
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
    # the manager may start before the thermal model has written its tree: wait for its readings
    spin_until(lambda: (client.service_is_ready()
                        and 'temp_c.tj' in latest.get('board', {}).get('values', {})),
               args.timeout)
    result['board'] = latest.get('board')
    value = ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=95.0)
    future = client.call_async(SetParameters.Request(
        parameters=[Parameter(name='warm_c', value=value)]))
    spin_until(future.done, args.timeout)
    reply = future.result()
    result['warm_95'] = {'successful': reply.results[0].successful,
                         'reason': reply.results[0].reason} if reply else None

    def policy_values() -> dict:
        return latest.get('thermal policy', {}).get('values', {})

    spin_until(lambda: (any(level <= 0.5 for _, level in sets)
                        and policy_values().get('level') in ('HOT', 'CRITICAL')
                        and policy_values().get('power_mode_target') != '2 (MAXN_SUPER)'),
               args.timeout)
    result['heated'] = latest.get('thermal policy')
    msg = BatteryState(percentage=0.10, present=True)
    next_battery = [0.0]

    def battery_low_seen():
        if time.monotonic() >= next_battery[0]:
            battery.publish(msg)
            next_battery[0] = time.monotonic() + 0.2
        return (policy_values().get('battery_low') == 'True'
                and policy_values().get('power_mode_target') == '3 (7W)')
    spin_until(battery_low_seen, args.timeout)
    result['battery_low'] = latest.get('thermal policy')
    result['memory'] = latest.get('memory')
    result['actuators'] = latest.get('actuators')
    result['load_sets'] = sets
    result['history'] = history[-200:]
    print(json.dumps(result))
    rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
