"""System-test fixtures: the suite started as real processes, probed over real DDS.

Every test session gets its own ROS_DOMAIN_ID, so parallel runs on one machine do not hear
each other, and discovery stays on this host. Helpers shared by the tests are in
system_helpers.py.

The tests are split in two sets, each run by its own command (see the README):
the default run (``pytest test``) and the long set (``pytest test --long``), tests marked
``long`` (the soak, long fault runs).  Every test is in exactly one of them, and the deselected
ones are reported as deselected, never dropped silently.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from system_helpers import ROOT, Suite


def pytest_addoption(parser):
    parser.addoption('--long', action='store_true',
                     help='run only the long set (tests marked long); without it, the rest')


def pytest_configure(config):
    os.environ.setdefault('ROS_DOMAIN_ID', str(1 + os.getpid() % 100))
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    os.environ['PYTHONUNBUFFERED'] = '1'
    config.addinivalue_line('markers', 'soak: the minutes-long soak (deselect with -m "not soak")')
    config.addinivalue_line('markers', 'long: too long for the default run; selected by --long')


def pytest_collection_modifyitems(config, items):
    long = config.getoption('--long')
    selected = [item for item in items if (item.get_closest_marker('long') is not None) == long]
    deselected = [item for item in items if item not in selected]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture
def start_suite(tmp_path):
    """``start_suite(profile='sim', only=['lidar'])`` runs ``jetson-edge up`` in the background."""
    suites: list[Suite] = []

    def start(profile: str = 'sim', only: list[str] | None = None,
              extra: list[str] | None = None) -> Suite:
        log = tmp_path / f'suite-{len(suites)}.log'
        cmd = ['jetson-edge', 'up', '--profile', profile]
        if only:
            cmd += ['--only', ','.join(only)]
        cmd += extra or []
        handle = open(log, 'wb')
        process = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT,
                                   start_new_session=True)
        suite = Suite(process, log)
        suites.append(suite)
        return suite

    yield start
    for suite in suites:
        code = suite.stop()
        print(f'--- suite log (exit {code}) ---\n{suite.output()[-5000:]}')


@pytest.fixture
def topic_monitor():
    """``topic_monitor({topic: (type, qos)})``: a TopicMonitor (own rclpy context, own thread)
    recording arrival times of those topics and every /diagnostics status; closed at the end."""
    from jetson_edge_bringup.topic_monitor import TopicMonitor

    monitors = []

    def make(topics: dict[str, tuple[str, str]]):
        monitor = TopicMonitor(topics, node_name=f'suite_test_monitor_{len(monitors)}')
        monitors.append(monitor)
        return monitor

    yield make
    for monitor in monitors:
        monitor.close()
