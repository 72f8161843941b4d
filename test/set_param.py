"""Sets parameters on a running node through its parameter service, from its own process; prints results as JSON.

    python test/set_param.py /perception score_threshold=0.9 class_filter=dog,car
"""

import json
import sys

import rclpy
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters


def value(text: str) -> ParameterValue:
    try:
        return ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=float(text))
    except ValueError:
        return ParameterValue(type=ParameterType.PARAMETER_STRING_ARRAY, string_array_value=text.split(','))


def main() -> int:
    node_name, assignments = sys.argv[1], sys.argv[2:]
    rclpy.init()
    node = rclpy.create_node('set_param')
    client = node.create_client(SetParameters, f'{node_name}/set_parameters')
    if not client.wait_for_service(timeout_sec=60.0):
        print(json.dumps({'error': 'service not available'}))
        return 1
    request = SetParameters.Request(parameters=[Parameter(name=a.split('=', 1)[0], value=value(a.split('=', 1)[1]))
                                                for a in assignments])
    future = client.call_async(request)
    rclpy.spin_until_future_complete(node, future, timeout_sec=60.0)
    print(json.dumps([{'successful': r.successful, 'reason': r.reason} for r in future.result().results]))
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
