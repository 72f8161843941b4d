"""Publish on one side, install / health-check / commit / roll back on the other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import healthy, unhealthy
from ota_testing import assert_on_complete_release, publish_release

from jetson_edge_ota import robot as robot_module
from jetson_edge_ota.bundle import BundleSources, build_bundle
from jetson_edge_ota.errors import (DowngradeError, HealthCheckFailed, InsufficientSpaceError,
                                    StateError)
from jetson_edge_ota.health import HealthResult


def test_published_release_installs_health_checks_and_commits(tmp_path, writer, make_robot):
    publish_release(writer, tmp_path, '1.0.0')
    robot = make_robot()
    seen = []

    def check(slot: Path, timeout_s: float) -> HealthResult:
        seen.append((slot, timeout_s))
        return healthy(slot, timeout_s)

    result = robot.install(health_check=check)
    assert result.outcome == 'committed' and result.version == '1.0.0'
    assert seen and seen[0][0].name == result.slot and seen[0][1] == 5.0
    assert_on_complete_release(robot.layout.root, '1.0.0')
    state = json.loads((robot.layout.root / 'state.json').read_text())
    assert state['current']['version'] == '1.0.0' and state['last_result']['result'] == 'committed'
    assert (robot.layout.root / 'current' / 'workspace' / 'lib' / 'current_version').read_text() \
        == '1.0.0\n'
    assert not list(robot.layout.downloads.glob('*.bundle'))   # cache freed after commit
    assert robot.check().update_available is False


def test_failing_health_check_rolls_back_to_previous_release(tmp_path, writer, make_robot):
    publish_release(writer, tmp_path, '1.0.0')
    robot = make_robot()
    robot.install(health_check=healthy)
    publish_release(writer, tmp_path, '1.1.0')
    with pytest.raises(HealthCheckFailed, match='rolled back to 1.0.0'):
        robot.install(health_check=unhealthy)
    assert_on_complete_release(robot.layout.root, '1.0.0')
    assert [p.name for p in robot.layout.slots.iterdir()] == \
        [robot.layout.load_state().current.slot]
    last = robot.layout.load_state().last_result
    assert last['result'] == 'rolled_back' and 'ERROR' in last['reason']


def test_health_check_that_raises_counts_as_failure(tmp_path, writer, make_robot):
    publish_release(writer, tmp_path, '1.0.0')
    robot = make_robot()
    robot.install(health_check=healthy)
    publish_release(writer, tmp_path, '1.1.0')

    def crashes(slot: Path, timeout_s: float) -> HealthResult:
        raise RuntimeError('watcher crashed')
    with pytest.raises(HealthCheckFailed, match='watcher crashed'):
        robot.install(health_check=crashes)
    assert_on_complete_release(robot.layout.root, '1.0.0')


def test_first_install_failing_health_check_leaves_no_release(tmp_path, writer, make_robot):
    publish_release(writer, tmp_path, '1.0.0')
    robot = make_robot()
    with pytest.raises(HealthCheckFailed, match='no release'):
        robot.install(health_check=unhealthy)
    assert_on_complete_release(robot.layout.root, None)
    assert list(robot.layout.slots.iterdir()) == []


def test_keeps_configured_number_of_previous_slots(tmp_path, writer, make_robot):
    robot = make_robot(keep=1)
    for version in ('1.0.0', '1.1.0', '1.2.0'):
        publish_release(writer, tmp_path, version)
        robot.install(health_check=healthy)
    state = robot.layout.load_state()
    assert state.current.version == '1.2.0'
    assert [p.version for p in state.previous] == ['1.1.0']
    assert sorted(p.name for p in robot.layout.slots.iterdir()) == \
        sorted([state.current.slot, state.previous[0].slot])


def test_rollback_verb_returns_to_kept_release_and_back(tmp_path, writer, make_robot):
    robot = make_robot()
    for version in ('1.0.0', '2.0.0'):
        publish_release(writer, tmp_path, version)
        robot.install(health_check=healthy)
    assert robot.rollback().version == '1.0.0'
    assert_on_complete_release(robot.layout.root, '1.0.0')
    assert [p.version for p in robot.layout.load_state().previous] == ['2.0.0']
    assert robot.rollback(version='2.0.0').version == '2.0.0'
    assert_on_complete_release(robot.layout.root, '2.0.0')
    with pytest.raises(StateError, match='no kept release'):
        robot.rollback(version='9.9.9')


def test_same_version_is_reported_up_to_date(tmp_path, writer, make_robot, server):
    publish_release(writer, tmp_path, '1.0.0')
    robot = make_robot()
    robot.install(health_check=healthy)
    downloads = len(server.bundle_requests())
    assert robot.install(health_check=healthy).outcome == 'up-to-date'
    assert len(server.bundle_requests()) == downloads


def test_forced_reinstall_of_same_version_gets_a_fresh_slot(tmp_path, writer, make_robot):
    publish_release(writer, tmp_path, '1.0.0')
    robot = make_robot()
    first = robot.install(health_check=healthy)
    second = robot.install(health_check=healthy, force=True)
    assert second.outcome == 'committed' and second.slot != first.slot
    assert_on_complete_release(robot.layout.root, '1.0.0')


def test_jetson_model_gets_its_own_engines_and_others_the_generic_bundle(
        tmp_path, writer, make_robot):
    publish_release(writer, tmp_path, '1.0.0', engines_for=('orin_nano', 'agx_orin'))
    orin = make_robot('orin', jetson_model='orin_nano')
    orin.install(health_check=healthy)
    engine = orin.layout.root / 'current' / 'engines' / 'detector.engine'
    assert engine.read_bytes().startswith(b'orin_nano-1.0.0')
    laptop = make_robot('laptop', jetson_model='xavier_nx')
    laptop.install(health_check=healthy)
    assert not (laptop.layout.root / 'current' / 'engines').exists()
    assert laptop.layout.load_state().current.jetson_model == 'generic'


def test_insufficient_disk_space_is_refused_before_downloading(tmp_path, writer, make_robot,
                                                                 server):
    sources = BundleSources(workspace=tmp_path / 'ws')
    (tmp_path / 'ws').mkdir()
    (tmp_path / 'ws' / 'f').write_text('x')
    bundle = build_bundle(tmp_path / 'b.tar.gz', version='1.0.0', jetson_model='generic',
                          sources=sources)
    # The publisher declares (and signs) an unpacked size no disk here has.
    huge = type(bundle)(**{**bundle.__dict__, 'extracted_size': 1 << 60})
    writer.publish([huge])
    robot = make_robot()
    with pytest.raises(InsufficientSpaceError, match='needs'):
        robot.install(health_check=healthy)
    assert server.bundle_requests() == []
    assert_on_complete_release(robot.layout.root, None)


def test_deferred_commit_survives_first_reboot_and_commits(tmp_path, writer, make_robot,
                                                            monkeypatch):
    publish_release(writer, tmp_path, '1.0.0')
    robot = make_robot()
    robot.install(health_check=healthy)
    publish_release(writer, tmp_path, '1.1.0')
    monkeypatch.setattr(robot_module, 'current_boot_id', lambda: 'boot-A')
    assert robot.install(defer_commit=True).outcome == 'pending'
    assert robot.status().pending['step'] == 'trial'
    monkeypatch.setattr(robot_module, 'current_boot_id', lambda: 'boot-B')   # rebooted
    report = robot.status()
    assert report.pending is not None and report.link_target.startswith('1.1.0')
    assert robot.commit(health_check=healthy).outcome == 'committed'
    assert_on_complete_release(robot.layout.root, '1.1.0')
    assert robot.commit(health_check=healthy).outcome == 'nothing-pending'


def test_deferred_trial_never_committed_rolls_back_on_second_reboot(tmp_path, writer,
                                                                     make_robot, monkeypatch):
    publish_release(writer, tmp_path, '1.0.0')
    robot = make_robot()
    robot.install(health_check=healthy)
    publish_release(writer, tmp_path, '1.1.0')
    for boot in ('boot-A', 'boot-B', 'boot-C'):
        monkeypatch.setattr(robot_module, 'current_boot_id', lambda boot=boot: boot)
        if boot == 'boot-A':
            robot.install(defer_commit=True)
        report = robot.status()
    assert report.recovered == 'roll_back' and report.pending is None
    assert_on_complete_release(robot.layout.root, '1.0.0')


def test_release_on_trial_blocks_installs_until_committed_or_rolled_back(
        tmp_path, writer, make_robot):
    publish_release(writer, tmp_path, '1.0.0')
    robot = make_robot()
    robot.install(health_check=healthy)
    publish_release(writer, tmp_path, '1.1.0')
    robot.install(defer_commit=True)
    publish_release(writer, tmp_path, '1.2.0')
    with pytest.raises(StateError, match='1.1.0 is on trial'):
        robot.install(health_check=healthy)
    assert robot.rollback().version == '1.0.0'
    assert_on_complete_release(robot.layout.root, '1.0.0')
    assert robot.install(health_check=healthy).version == '1.2.0'


def test_deferred_trial_failing_boot_time_health_check_rolls_back(tmp_path, writer, make_robot):
    publish_release(writer, tmp_path, '1.0.0')
    robot = make_robot()
    robot.install(health_check=healthy)
    publish_release(writer, tmp_path, '1.1.0')
    robot.install(defer_commit=True)
    with pytest.raises(HealthCheckFailed):
        robot.commit(health_check=unhealthy)
    assert_on_complete_release(robot.layout.root, '1.0.0')


def test_second_operation_while_one_runs_is_refused(tmp_path, writer, make_robot):
    publish_release(writer, tmp_path, '1.0.0')
    robot = make_robot()
    other = robot_module.Robot(robot.layout.root)
    with robot.layout:
        with pytest.raises(StateError, match='another jetson-edge ota command'):
            other.install(health_check=healthy)
        assert other.status().recovered == 'operation in progress in another process'


def test_anti_rollback_refuses_older_release_unless_forced(tmp_path, writer, make_robot):
    publish_release(writer, tmp_path, '1.0.0')
    publish_release(writer, tmp_path, '2.0.0')
    robot = make_robot()
    robot.install(health_check=healthy)
    assert robot.layout.load_state().current.version == '2.0.0'
    with pytest.raises(DowngradeError, match='older than the installed 2.0.0'):
        robot.install(version='1.0.0', health_check=healthy)
    assert_on_complete_release(robot.layout.root, '2.0.0')
    assert robot.install(version='1.0.0', force=True, health_check=healthy).version == '1.0.0'
    assert_on_complete_release(robot.layout.root, '1.0.0')


def test_status_detects_a_damaged_current_slot(tmp_path, writer, make_robot):
    publish_release(writer, tmp_path, '1.0.0')
    robot = make_robot()
    robot.install(health_check=healthy)
    victim = robot.layout.root / 'current' / 'config' / 'sim.yaml'
    victim.write_text('release: 6.6.6\n')
    assert robot.status().problems == []          # same size: only hashing finds it
    assert robot.status(verify_hashes=True).problems == ['content differs: config/sim.yaml']
