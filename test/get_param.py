"""Reads parameters of a running node through its parameter service, from its own process;
prints them as JSON.

    python test/get_param.py /perception max_rate_hz score_threshold
"""

import json
import sys

import rclpy
from rcl_interfaces.srv import GetParameters
from rclpy.parameter import parameter_value_to_python


def main() -> int:
    node_name, names = sys.argv[1], sys.argv[2:]
    rclpy.init()
    node = rclpy.create_node('get_param')
    client = node.create_client(GetParameters, f'{node_name}/get_parameters')
    if not client.wait_for_service(timeout_sec=60.0):
        print(json.dumps({'error': f'{node_name}/get_parameters not available'}))
        return 1
    future = client.call_async(GetParameters.Request(names=names))
    rclpy.spin_until_future_complete(node, future, timeout_sec=60.0)
    if future.result() is None:
        print(json.dumps({'error': 'no reply'}))
        return 1
    values = [parameter_value_to_python(v) for v in future.result().values]
    print(json.dumps(dict(zip(names, values))))
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
