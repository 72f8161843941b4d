"""The thread contract of the power nodes: a thread (or a timer callback) that dies is an
ERROR on /diagnostics naming it, then the exit that makes respawn restart the node."""

from jetson_edge_common.testing import kill_a_thread, ros_in_process
from jetson_edge_common.thread_guard import EXIT_THREAD_DIED

from jetson_edge_power.manager import Actions


def _raise(message):
    def broken(*_args, **_kwargs):
        raise RuntimeError(message)
    return broken


def test_a_failing_model_step_reports_error_and_ends_the_thermal_model(tmp_path):
    from jetson_edge_sim.power.thermal_model_node import ThermalModelNode

    with ros_in_process({'sysfs_root': tmp_path}):
        node = ThermalModelNode()
        try:
            exits, errors = kill_a_thread(
                node, lambda: setattr(node._model, 'step', _raise('injected model bug')),
                spin=True)
        finally:
            node.destroy_node()
    assert exits == [EXIT_THREAD_DIED]
    assert errors and all("thread 'executor' died: RuntimeError: injected model bug"
                          in e.message for e in errors)


def _power_manager(tmp_path):
    from jetson_edge_power.node import PowerManagerNode
    from jetson_edge_power.hardware import layout_of
    from jetson_edge_sim.power.thermal_model import ThermalModel

    layout, _ = layout_of('sim', root=tmp_path)
    ThermalModel(layout, tmp_path).step(0.1)   # the sysfs-shaped tree the manager reads
    return PowerManagerNode()


def test_a_dead_actuation_thread_reports_error_and_ends_the_power_manager(tmp_path):
    with ros_in_process({'sysfs_root': tmp_path, 'actuator_backend': 'dry_run'}):
        node = _power_manager(tmp_path)

        def inject():
            node._manager.apply = _raise('injected actuator bug')
            node._worker.submit(Actions(fan_pwm=100))

        try:
            exits, errors = kill_a_thread(node, inject)
        finally:
            node.close()
            node.destroy_node()
    assert exits == [EXIT_THREAD_DIED]
    assert errors and all("thread 'power-actuation' died: RuntimeError: injected actuator bug"
                          in e.message for e in errors)


def test_a_failing_sample_reports_error_and_ends_the_power_manager(tmp_path):
    with ros_in_process({'sysfs_root': tmp_path, 'actuator_backend': 'dry_run'}):
        node = _power_manager(tmp_path)
        try:
            exits, errors = kill_a_thread(
                node, lambda: setattr(node._manager, 'tick', _raise('injected sampling bug')), spin=True)
        finally:
            node.close()
            node.destroy_node()
    assert exits == [EXIT_THREAD_DIED]
    assert errors and all("thread 'executor' died: RuntimeError: injected sampling bug"
                          in e.message for e in errors)
