from jetson_edge_common.diagnostics import Level
from jetson_edge_power.manager import PowerManager
from jetson_edge_power.status import actuator_status, board_status, memory_status, policy_status


def test_every_status_is_stale_before_the_first_sample():
    manager = PowerManager(None, None)  # no tick yet: no board needed
    assert policy_status(manager, None).level is Level.STALE
    assert board_status(manager, None).level is Level.STALE
    assert memory_status(manager).level is Level.STALE


def test_a_failed_hardware_action_is_an_error_and_a_missing_perception_node_a_warning():
    manager = PowerManager(None, None)
    assert actuator_status(manager, backend='sim').level is Level.OK
    manager.mark_failed('perception_load', 'perception node offers no parameter service')
    assert actuator_status(manager, backend='sim').level is Level.WARN
    manager.mark_failed('fan_pwm', 'fan_pwm -> 0.5: permission denied')
    failed = actuator_status(manager, backend='sim')
    assert failed.level is Level.ERROR and 'permission denied' in failed.message
    manager.policy_enabled = False  # nobody relies on the actions then
    assert actuator_status(manager, backend='sim').level is Level.WARN
