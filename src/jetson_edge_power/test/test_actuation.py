"""Which actuators a backend gives, the worker that runs them, and what a run-time parameter
set makes due: the node's decisions, tested without ROS."""

import subprocess
import threading
import time

import boards
import pytest

from jetson_edge_common.diagnostics import Level
from jetson_edge_common.testing import wait_for
from jetson_edge_power.actuation import ActuationWorker, actuators_for
from jetson_edge_power.errors import BinaryNotFoundError
from jetson_edge_power.hardware import layout_of
from jetson_edge_power.layout import layout_from_dict
from jetson_edge_power.manager import Actions
from jetson_edge_power.params import MANAGER_SPECS
from jetson_edge_power.settings import apply_parameter, manager_for
from jetson_edge_power.status import actuator_status
from jetson_edge_power.sysfs import SysfsRoot

DEFAULTS = {s.name: s.default for s in MANAGER_SPECS}


def _values(root, **overrides):
    return {**DEFAULTS, 'sysfs_root': str(root), 'use_nvml': False, **overrides}


def _manager(root, **overrides):
    boards.orin_nano(root)
    layout, _ = layout_of('orin_nano', root=str(root))
    return manager_for(_values(root, **overrides), layout, layout_source='orin_nano')


def test_the_system_backend_runs_the_configured_commands(tmp_path):
    layout, _ = layout_of('orin_nano')
    acts = actuators_for(_values(tmp_path, nvpmodel_command=['/nonexistent/nvpmodel']),
                         layout, SysfsRoot(tmp_path), layout_source='orin_nano')
    assert not acts.nvpmodel.dry_run and not acts.fan.dry_run and not acts.clocks.dry_run
    with pytest.raises(BinaryNotFoundError, match='/nonexistent/nvpmodel not found'):
        acts.nvpmodel.set_mode(3)
    dry = actuators_for(_values(tmp_path, actuator_backend='dry_run'), layout,
                        SysfsRoot(tmp_path), layout_source='orin_nano')
    assert dry.nvpmodel.set_mode(3).command == ('nvpmodel', '-m', '3')
    assert dry.nvpmodel.dry_run and dry.fan.dry_run and dry.clocks.dry_run


def test_a_board_without_modes_or_fan_gets_only_clocks(tmp_path):
    layout, _ = layout_from_dict({'model': 'carrier'})
    acts = actuators_for(_values(tmp_path), layout, SysfsRoot(tmp_path), layout_source='x')
    assert acts.nvpmodel is None and acts.fan is None and acts.clocks is not None


def test_the_worker_applies_on_its_own_thread_and_a_newer_target_wins(tmp_path):
    manager = _manager(tmp_path, actuator_backend='dry_run')
    release, started, threads = threading.Event(), threading.Event(), []
    fan = manager.fan
    real_set_pwm = fan.set_pwm

    def held_set_pwm(pwm):  # the first write takes long, as a slow tool would
        threads.append(threading.current_thread().name)
        started.set()
        release.wait(30)
        return real_set_pwm(pwm)

    fan.set_pwm = held_set_pwm
    lines = []
    worker = ActuationWorker(manager, on_result=lines.extend)
    try:
        worker.submit(Actions(fan_pwm=100))
        assert started.wait(30)
        worker.submit(Actions(fan_pwm=150, perception_load=0.5))
        worker.submit(Actions(fan_pwm=200))        # replaces 150 before it ran
        release.set()
        wait_for(lambda: len(lines) == 2, 30, lambda: f'two results ({lines})', interval=0.01)
    finally:
        worker.close()
    assert fan.history == [100, 200]
    assert set(threads) == {'power-actuation'}


def test_jetson_clocks_switch_runs_on_the_worker_and_a_failure_is_a_warning(tmp_path):
    manager = _manager(tmp_path, actuator_backend='dry_run')
    lines = []
    worker = ActuationWorker(manager, on_result=lines.extend)
    try:
        worker.submit(apply_parameter(manager, {**DEFAULTS, 'jetson_clocks': 'on'},
                                      'jetson_clocks'))
        wait_for(lambda: lines, 30, 'the switch to run', interval=0.01)
    finally:
        worker.close()
    assert lines == ['dry run: would lock clocks']
    assert [argv[1:] for argv in manager.clocks.history] == [
        ('--store', DEFAULTS['jetson_clocks_store']), ()]

    def refusing(argv, timeout):
        return subprocess.CompletedProcess(argv, 1, '', 'jetson_clocks: must be root')

    manager = _manager(tmp_path)
    manager.clocks._runner = refusing
    assert manager.apply(manager.request_clocks('on')) == []
    assert 'jetson_clocks on:' in manager.errors()['jetson_clocks']
    status = actuator_status(manager, backend='system')
    assert status.level is Level.WARN and 'must be root' in status.message
    with pytest.raises(ValueError, match='expected on or restore'):
        manager.request_clocks('unchanged')


def test_parameter_sets_reconfigure_the_policy_and_make_actions_due(tmp_path):
    manager = _manager(tmp_path, actuator_backend='dry_run')
    values = _values(tmp_path, actuator_backend='dry_run')
    assert apply_parameter(manager, values, 'jetson_clocks') == Actions()   # 'unchanged'
    values['hot_c'] = 78.0
    assert apply_parameter(manager, values, 'hot_c') == Actions()
    assert manager.policy.config.hot_c == 78.0
    values['power_mode'] = 0
    assert apply_parameter(manager, values, 'power_mode') == Actions(), 'the policy acts'
    values['policy_enabled'] = False
    apply_parameter(manager, values, 'policy_enabled')
    assert manager.policy_enabled is False
    values['power_mode'] = 3
    assert apply_parameter(manager, values, 'power_mode') == Actions(power_mode=3)
    assert manager.apply(Actions(power_mode=3)) == ['dry run: would set power mode 3 (7W)']


def test_the_manager_the_parameters_describe_reads_the_board(tmp_path):
    manager = _manager(tmp_path, actuator_backend='dry_run', perception_node='')
    result = manager.tick(now=1.0)
    assert result.snapshot.max_temp((), ()) is not None
    assert not manager.asks_perception and result.actions.perception_load is None


def test_a_load_level_nobody_could_receive_is_asked_again_next_tick_a_refused_one_later(tmp_path):
    manager = _manager(tmp_path, actuator_backend='dry_run')
    start = time.monotonic()   # mark_failed stamps the refusal on this clock
    load = manager.tick(now=start).actions.perception_load
    assert load is not None
    manager.mark_unsent('perception_load', 'perception node offers no parameter service')
    assert manager.tick(now=start + 1).actions.perception_load == load, 'asked again at once'
    assert 'no parameter service' in manager.errors()['perception_load']
    manager.mark_succeeded('perception_load')
    assert manager.tick(now=start + 2).actions.perception_load is None, 'nothing new to ask'
    manager.mark_failed('perception_load', 'perception refused load_level=1: out of range')
    refused = time.monotonic()
    assert manager.tick(now=refused + 1).actions.perception_load is None, 'a refusal waits'
    assert manager.tick(now=refused + manager.retry_s + 1).actions.perception_load == load
