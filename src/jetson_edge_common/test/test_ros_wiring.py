"""The rclpy side of params and diagnostics, on a real node in this process."""

import pytest
import rclpy
from rclpy.parameter import Parameter

from jetson_edge_common.diagnostics import DiagnosticsPublisher, Status
from jetson_edge_common.params import ParamSpec, declare_parameters, on_parameter_change

SPECS = [
    ParamSpec('rate', 10.0, 'publish rate in Hz', min_value=1.0, max_value=100.0, dynamic=True),
    ParamSpec('mode', 'a', 'mode', choices=('a', 'b'), dynamic=True),
    ParamSpec('port', 2368, 'UDP port', min_value=1, max_value=65535),
    ParamSpec('classes', [], 'class filter', item_type=int, dynamic=True),
]


@pytest.fixture
def context():
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.shutdown(context=ctx)


def make_node(context, overrides=()):
    return rclpy.create_node('wiring_test', context=context,
                             parameter_overrides=[Parameter(k, value=v) for k, v in overrides])


def test_declared_values_follow_overrides_and_descriptors_carry_ranges(context):
    node = make_node(context, [('rate', 20.0), ('mode', 'b')])
    values = declare_parameters(node, SPECS)
    assert values == {'rate': 20.0, 'mode': 'b', 'port': 2368, 'classes': []}
    desc = node.describe_parameter('rate')
    assert desc.floating_point_range[0].to_value == 100.0
    assert 'publish rate' in desc.description
    assert node.describe_parameter('port').integer_range[0].from_value == 1
    node.destroy_node()


def test_override_refused_by_schema_names_the_parameter(context):
    node = make_node(context, [('mode', 'z')])
    with pytest.raises(ValueError, match="'mode'.*not one of"):
        declare_parameters(node, SPECS)
    node.destroy_node()


def test_runtime_changes_are_validated_and_applied(context):
    node = make_node(context)
    declare_parameters(node, SPECS)
    applied = []
    on_parameter_change(node, SPECS, lambda name, value: applied.append((name, value)))
    assert node.set_parameters([Parameter('mode', value='b')])[0].successful
    refused = node.set_parameters([Parameter('mode', value='c')])[0]
    assert not refused.successful and 'not one of' in refused.reason
    static = node.set_parameters([Parameter('port', value=1000)])[0]
    assert not static.successful and 'restart' in static.reason
    out_of_range = node.set_parameters([Parameter('rate', value=500.0)])[0]
    assert not out_of_range.successful
    assert node.set_parameters([Parameter('classes', value=[1, 3])])[0].successful
    assert applied == [('mode', 'b'), ('classes', [1, 3])]
    node.destroy_node()


def test_diagnostics_publisher_reports_tasks_and_failures(context):
    from diagnostic_msgs.msg import DiagnosticArray

    node = make_node(context)
    received = []
    node.create_subscription(DiagnosticArray, '/diagnostics', received.append, 10)
    diag = DiagnosticsPublisher(node, hardware_id='hw', period_s=0.05)
    diag.add('link', lambda: Status.warn('slow', rate=4.5))
    diag.add('broken', lambda: 1 / 0)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    for _ in range(100):
        executor.spin_once(timeout_sec=0.05)
        if received:
            break
    assert received, 'no diagnostics arrived'
    by_name = {s.name: s for s in received[0].status}
    link = by_name['wiring_test: link']
    assert link.level == b'\x01' and link.message == 'slow' and link.hardware_id == 'hw'
    assert [(kv.key, kv.value) for kv in link.values] == [('rate', '4.5')]
    assert by_name['wiring_test: broken'].level == b'\x02'
    node.destroy_node()
