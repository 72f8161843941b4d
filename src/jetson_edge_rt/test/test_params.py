"""The node's parameter schema: complete, valid, and able to catch profile typos."""
import pytest

common_params = pytest.importorskip('jetson_edge_common.params', reason='jetson_edge_common not on the path')
profiles = pytest.importorskip('jetson_edge_common.profiles', reason='jetson_edge_common not on the path')

from jetson_edge_rt.controllers.balance import BalanceController  # noqa: E402
from jetson_edge_rt.params import NODE_SPECS  # noqa: E402


def test_schema_has_the_executor_and_the_balance_controller_parameters():
    names = {s.name for s in NODE_SPECS}
    assert {'rate_hz', 'priority', 'cpu', 'mlock', 'gc_freeze', 'switch_interval_us', 'controller',
            'overrun_policy', 'latency_warn_us', 'imu_topic', 'command_topic', 'timing_topic'} <= names
    assert {f'balance.{p.name}' for p in BalanceController.parameters} <= names
    assert len(names) == len(NODE_SPECS)


def test_rate_range_is_the_issue_range():
    rate = next(s for s in NODE_SPECS if s.name == 'rate_hz')
    assert common_params.validate(rate, 1500.0) == '1500.0 is above the maximum 1000.0'
    assert common_params.validate(rate, 250.0) is None


def test_profile_typos_and_bad_values_are_reported():
    data = {'nodes': {'rt_executor': {'package': 'jetson_edge_rt', 'executable': 'rt_executor_node', 'parameters': {
        'rate_hz': 500.0, 'priorty': 80, 'overrun_policy': 'sometimes', 'balance.kp_roll': -1.0}}}}
    errors = profiles.check_node_parameters(data, schema_for=lambda package, executable: NODE_SPECS)
    assert len(errors) == 3
    assert errors[0].startswith('nodes.rt_executor.parameters.priorty: unknown parameter')
    assert errors[1].startswith('nodes.rt_executor.parameters.overrun_policy:') and "'sometimes'" in errors[1]
    assert errors[2] == 'nodes.rt_executor.parameters.balance.kp_roll: -1.0 is below the minimum 0.0'
