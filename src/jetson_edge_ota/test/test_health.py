"""Health checks: the pure verdict, a command check, and the default /diagnostics check."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from jetson_edge_common.diagnostics import Level
from jetson_edge_ota.diagnostics_verdict import DiagnosticsVerdict
from jetson_edge_ota.errors import ConfigError
from jetson_edge_ota.health import (CommandHealthCheck, DiagnosticsHealthCheck, NoHealthCheck,
                                    health_check_from_spec)

OK, WARN, ERROR, STALE = Level.OK, Level.WARN, Level.ERROR, Level.STALE

FAKE_SUITE = Path(__file__).resolve().parent / 'fake_suite.py'


def test_verdict_requires_some_status_and_no_error():
    verdict = DiagnosticsVerdict()
    assert not verdict.ok and verdict.summary() == 'no /diagnostics received'
    verdict.add('imu: driver', OK, 'ok')
    verdict.add('lidar: driver', WARN, 'dropped packets')
    verdict.add('power: thermal', STALE, '')
    assert verdict.ok and '1 stale' in verdict.summary()
    verdict.add('perception: model', ERROR, 'engine failed to load')
    assert not verdict.ok
    assert 'perception: model: engine failed to load' in verdict.summary()


def test_startup_error_that_clears_is_a_transient_but_a_later_one_fails():
    verdict = DiagnosticsVerdict(settle_s=10.0)
    verdict.add('lidar: lidar', ERROR, 'no packets received yet', t=1.0)
    assert not verdict.ok                     # still in ERROR: not healthy yet
    verdict.add('lidar: lidar', OK, 'receiving', t=3.0)
    assert verdict.ok and verdict.errors == {}
    verdict.add('lidar: lidar', ERROR, 'no packets for 1.2 s', t=12.0)
    verdict.add('lidar: lidar', OK, 'receiving', t=13.0)
    assert not verdict.ok and 'no packets for 1.2 s' in verdict.summary()


def test_error_that_never_clears_fails_even_inside_the_settle_time():
    verdict = DiagnosticsVerdict(settle_s=60.0)
    verdict.add('perception: model', ERROR, 'model file missing', t=0.5)
    assert not verdict.ok and 'model file missing' in verdict.summary()


@pytest.fixture
def slot(tmp_path: Path) -> Path:
    (tmp_path / 'slot' / 'workspace' / 'bin').mkdir(parents=True)
    (tmp_path / 'slot' / 'release.json').write_text('{}')
    return tmp_path / 'slot'


def test_command_health_check_runs_from_the_slot(slot):
    tool = slot / 'workspace' / 'bin' / 'selftest'
    tool.write_text('#!/bin/sh\ntest -f release.json && echo "selftest ok: $JETSON_EDGE_SLOT"\n')
    tool.chmod(0o755)
    result = CommandHealthCheck(['selftest'])(slot, 10.0)
    assert result.ok and result.message == f'selftest ok: {slot}'


def test_command_health_check_fails_on_exit_status(slot):
    result = CommandHealthCheck(['sh', '-c', 'echo broken; exit 3'])(slot, 10.0)
    assert not result.ok and 'exited 3: broken' in result.message


def test_command_health_check_fails_on_time_limit(slot):
    result = CommandHealthCheck(['sleep', '30'])(slot, 0.3)
    assert not result.ok and 'did not finish' in result.message


def test_health_check_specs():
    assert isinstance(health_check_from_spec('none'), NoHealthCheck)
    assert health_check_from_spec('cmd:systemctl is-active robot').argv == \
        ['systemctl', 'is-active', 'robot']
    assert health_check_from_spec('diagnostics:jetson-edge up --profile sim').start_argv == \
        ['jetson-edge', 'up', '--profile', 'sim']
    for bad in ('cmd:', 'reboot', 'none:x'):
        with pytest.raises(ConfigError):
            health_check_from_spec(bad)


@pytest.fixture
def ros_isolated(monkeypatch):
    pytest.importorskip('rclpy', reason='the stand-in suite is a ROS 2 node (run by colcon test)')
    monkeypatch.setenv('ROS_DOMAIN_ID', str(60 + os.getpid() % 40))
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')


@pytest.mark.parametrize('level,healthy', [('OK', True), ('ERROR', False), ('SILENT', False)])
def test_diagnostics_health_check_over_real_dds(slot, ros_isolated, level, healthy):
    check = DiagnosticsHealthCheck(start_argv=[sys.executable, str(FAKE_SUITE), level],
                                   window_s=1.0, settle_s=0.0)
    result = check(slot, 3.0 if level == 'SILENT' else 20.0)
    assert result.ok is healthy, result.message
    expected = {'OK': 'none in ERROR', 'ERROR': 'reported ERROR', 'SILENT': 'no /diagnostics'}
    assert expected[level] in result.message


def test_diagnostics_health_check_fails_fast_when_the_suite_exits(slot, ros_isolated):
    check = DiagnosticsHealthCheck(start_argv=['sh', '-c', 'echo no such profile; exit 2'],
                                   window_s=1.0, settle_s=0.0)
    result = check(slot, 20.0)
    assert not result.ok and 'exited with 2 during the health check' in result.message
