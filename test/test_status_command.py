"""``jetson-edge status`` against a running sim (the IMU and LiDAR drivers with their stand-ins,
and the suite monitor): ``up`` says where to look once its nodes are started; ``--once`` prints
every node with its level and the topic rates; the live view runs in a real terminal (tmux),
names the nodes and their levels and redraws (its refresh counter moves); with nothing running,
``--once`` fails with a message saying so."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from suite_helpers import wait_for
from system_helpers import ROOT

ONLY = 'imu,lidar,monitor'
NODES = ('imu_emulator', 'imu', 'lidar', 'lidar_sim', 'monitor')
STARTUP_S = 60.0
TOPICS = ('/imu/data', '/imu/data_raw', '/lidar/points')
LEVELS = {'OK', 'WARN', 'ERROR', 'STALE'}
RUNNING = {'OK', 'WARN'}    # WARN: a rate below its floor on a loaded 2-core host


def status_once(*extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(['jetson-edge', 'status', '--profile', 'sim', '--only', ONLY,
                           '--once', *extra], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)


def rows(text: str) -> dict[str, list[str]]:
    """The table rows by their first word (node key, topic)."""
    return {line.split()[0]: line.split() for line in text.splitlines() if line.split()}


def test_once_fails_clearly_when_nothing_answers():
    # first in this file: nothing runs in the session's own ROS_DOMAIN_ID yet
    done = status_once('--timeout', '2')
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'nothing on /diagnostics' in done.stderr and 'is the suite running' in done.stderr


@pytest.mark.skipif(shutil.which('tmux') is None,
                    reason='tmux is not installed (apt install tmux): the live view is tested in '
                    'a real terminal')
def test_status_once_and_live_in_tmux(start_suite):
    suite = start_suite('sim', only=ONLY.split(','))
    wait_for(lambda: 'jetson-edge status --profile sim --only imu,lidar,monitor' in suite.output()
             or not suite.alive(), STARTUP_S, 'up to say where to look')
    assert suite.alive(), suite.output()[-3000:]

    def settled() -> str:
        # node levels come from the nodes at once, topic rates only once the monitor has
        # measured them and its /diagnostics_agg has reached this --once: wait for both
        done = status_once()
        found = rows(done.stdout)
        nodes_up = all(found.get(k, [None, None])[1] in RUNNING for k in NODES)
        rated = all(len(found.get(t, [])) > 2 and found[t][1] in LEVELS
                    and re.fullmatch(r'\d+\.\d', found[t][2]) and float(found[t][2]) > 0
                    for t in TOPICS)
        return done.stdout if done.returncode == 0 and nodes_up and rated else ''
    text = wait_for(settled, STARTUP_S,
                    lambda: f'every node OK or WARN and every topic rated in --once:\n'
                            f'{status_once().stdout}', interval=1.0)
    assert re.search(r'^\s*imu rate\s+(OK|WARN)\s+\d+\.\d Hz', text, re.M), text

    socket = f'je-status-{os.getpid()}'
    tmux = ['tmux', '-L', socket]
    subprocess.run([*tmux, 'new-session', '-d', '-s', 'status', '-x', '120', '-y', '50',
                    f'jetson-edge status --profile sim --only {ONLY}'], check=True, cwd=ROOT)
    try:
        def capture() -> str:
            return subprocess.run([*tmux, 'capture-pane', '-p', '-t', 'status'],
                                  capture_output=True, text=True, check=True).stdout

        def every_node_listed() -> str:
            text = capture()
            return text if all(rows(text).get(k, [None, None])[1] in LEVELS for k in NODES) else ''

        first = wait_for(every_node_listed, 30.0,
                         lambda: f'the live view to list every node:\n{capture()}')

        def redrawn() -> str:
            text = capture()
            return text if text != first and 'refresh' in text else ''

        second = wait_for(redrawn, 10.0, 'the live view to redraw')
        counters = [line for line in (first + second).splitlines() if line.startswith('refresh')]
        assert len(set(counters)) == 2, counters
    finally:
        subprocess.run([*tmux, 'kill-server'], check=False)
