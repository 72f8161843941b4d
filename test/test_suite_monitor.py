"""The suite monitor against the running sim: a frozen node (SIGSTOP) named on
``/diagnostics_agg`` and ``/diagnostics``, its recovery on SIGCONT, and a killed node's restart
reported from its runner. Times from the fault to the report are printed (target: 2 s); the
test only waits for the states, with generous timeouts."""

from __future__ import annotations

import os
import signal
import time

import pytest

from suite_helpers import (ERROR, OK, WARN, AggregateWatcher, current_pids, wait_for,
                           write_profile)

STARTUP_S = 180.0
SETTLE_S = 120.0
ONLY = ['perception', 'monitor']     # perception brings its camera along


@pytest.fixture
def watcher():
    w = AggregateWatcher()
    yield w
    w.close()


def _rss_mb(pid: int) -> float:
    for line in open(f'/proc/{pid}/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
    return float('nan')


def _runner_pid(node_pid: int) -> int:
    return int(open(f'/proc/{node_pid}/stat').read().rsplit(')', 1)[1].split()[1])


def _ok(watcher, key: str) -> bool:
    latest = watcher.latest(f'/jetson_edge/{key}')
    return latest is not None and latest[3] == OK


@pytest.mark.long  # a fault test (the attack test freezes and kills every node)
def test_the_monitor_names_a_frozen_node_and_reports_a_killed_ones_restart(start_suite, watcher,
                                                                           tmp_path):
    suite = start_suite(str(write_profile(tmp_path)), only=ONLY)
    wait_for(lambda: (suite.alive() or pytest.fail(suite.output()[-3000:]))
             and _ok(watcher, 'perception') and _ok(watcher, 'camera'), STARTUP_S,
             lambda: f'perception and camera OK on /diagnostics_agg: '
                     f'{watcher.latest("/jetson_edge")}')
    topic = watcher.latest('/jetson_edge/perception/perception/detections')
    assert topic is not None and topic[3] == OK, topic
    print(f'\nresident memory: suite_monitor {_rss_mb(current_pids(suite.output())["monitor"]):.0f} '
          f'MB, a node_runner {_rss_mb(_runner_pid(current_pids(suite.output())["camera"])):.0f} MB')

    # frozen: SIGSTOP perception
    pid = current_pids(suite.output())['perception']
    stopped_at = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    try:
        error = wait_for(lambda: watcher.first('/jetson_edge/perception', since=stopped_at,
                                               level=ERROR), SETTLE_S,
                         'perception named ERROR on /diagnostics_agg')
        summary = wait_for(lambda: watcher.first('suite_monitor: suite', since=stopped_at,
                                                 topic='/diagnostics', level=ERROR), SETTLE_S,
                           'the monitor\'s ERROR on /diagnostics')
    finally:
        os.kill(pid, signal.SIGCONT)
    resumed_at = time.monotonic()
    assert 'silent for' in error[4] and 'hung, stopped or dead' in error[4], error
    assert summary[4].startswith('perception: silent for'), summary
    ok = wait_for(lambda: watcher.first('/jetson_edge/perception', since=resumed_at, level=OK),
                  SETTLE_S, 'perception OK again after SIGCONT')
    print(f'\nSIGSTOP perception -> ERROR on /diagnostics_agg {error[0] - stopped_at:.2f} s, '
          f'on /diagnostics {summary[0] - stopped_at:.2f} s (target 2 s); SIGCONT -> OK '
          f'{ok[0] - resumed_at:.2f} s')

    # dead: SIGKILL the camera; its runner restarts it and the monitor says so
    pid = current_pids(suite.output())['camera']
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    relayed = wait_for(lambda: watcher.first('node_runner: camera', since=killed_at,
                                             topic='/diagnostics',
                                             contains='exited with signal 9 (SIGKILL)'),
                       SETTLE_S, 'the runner\'s report of the kill on /diagnostics')
    down = wait_for(lambda: watcher.first('/jetson_edge/camera', since=killed_at, level=ERROR),
                    SETTLE_S, 'camera ERROR on /diagnostics_agg')
    restarted = wait_for(lambda: watcher.first('/jetson_edge/camera', since=killed_at,
                                               level=WARN, contains='after signal 9 (SIGKILL)'),
                         SETTLE_S, 'camera\'s restart reported on /diagnostics_agg')
    assert restarted[5]['restarts'] == '1', restarted
    running = wait_for(lambda: watcher.first('node_runner: camera', since=killed_at,
                                             topic='/diagnostics', level=OK,
                                             contains='1 restart(s), last exit signal 9'),
                       SETTLE_S, 'the runner\'s report of the restarted camera')
    print(f'SIGKILL camera -> runner report {relayed[0] - killed_at:.2f} s ({relayed[4]!r}), '
          f'ERROR on /diagnostics_agg {down[0] - killed_at:.2f} s, restart reported '
          f'{restarted[0] - killed_at:.2f} s; runner: {running[4]!r}')
    assert suite.alive(), suite.output()[-3000:]
