"""System-test fixtures: the suite started as real processes, probed over real DDS.

Every test session gets its own ROS_DOMAIN_ID, so parallel runs on one machine do not hear
each other, and discovery stays on this host. Helpers shared by the tests are in
system_helpers.py.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from system_helpers import ROOT, Suite


def pytest_configure(config):
    os.environ.setdefault('ROS_DOMAIN_ID', str(1 + os.getpid() % 100))
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    os.environ['PYTHONUNBUFFERED'] = '1'
    config.addinivalue_line('markers', 'soak: the minutes-long soak (deselect with -m "not soak")')


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
