"""node_runner against real child processes (small Python scripts standing in for nodes)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from jetson_edge_bringup.node_runner import (STARTED, RunnerOptions, apply_scheduling,
                                             parse_arguments)
from jetson_edge_bringup.respawn import RespawnPolicy
from jetson_edge_bringup.runner_status import GIVEN_UP, read_status


def run_runner(options: RunnerOptions, script: str, *, timeout: float = 60.0):
    argv = [sys.executable, '-m', 'jetson_edge_bringup.node_runner', *options.to_argv(),
            sys.executable, '-c', script]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def test_options_survive_the_command_line():
    options = RunnerOptions(key='lidar', nice=-5, cpus=(2, 3), env={'A': 'x=y', 'B': ''},
                            policy=RespawnPolicy(delay_s=0.5, max_restarts=7))
    assert parse_arguments([*options.to_argv(), 'node', '--ros-args']) == (options, ['node', '--ros-args'])
    once = RunnerOptions(key='n', policy=RespawnPolicy(respawn=False))
    assert parse_arguments([*once.to_argv(), 'node']) == (once, ['node'])


def test_the_node_gets_the_plans_nice_cpus_and_environment():
    cpu = sorted(os.sched_getaffinity(0))[-1]
    options = RunnerOptions(key='n', nice=7, cpus=(cpu,), env={'JE_PROBE': 'from-the-plan'},
                            policy=RespawnPolicy(respawn=False))
    script = ('import os; print(os.getpriority(os.PRIO_PROCESS, 0), sorted(os.sched_getaffinity(0)),'
              ' os.environ["JE_PROBE"])')
    code, out, err = run_runner(options, script)
    assert code == 0, err
    assert out.split() == ['7', f'[{cpu}]', 'from-the-plan']
    assert f'[node_runner] n: nice 7, cpus {cpu}' in err


def test_a_crashing_node_is_restarted_with_backoff_then_given_up():
    options = RunnerOptions(key='flaky', policy=RespawnPolicy(delay_s=0.05, max_restarts=2))
    code, out, err = run_runner(options, 'print("up", flush=True); raise SystemExit(3)')
    assert code == 3
    assert out.split() == ['up', 'up', 'up']
    assert len(STARTED.findall(err)) == 3 and ' (restart 2): ' in err
    assert 'flaky exited with code 3; restarting in 0.1 s (attempt 1 of 2)' in err
    assert 'flaky exited with code 3; restarting in 0.1 s (attempt 2 of 2)' in err
    assert 'ERROR: flaky keeps dying: 2 restarts in a row failed (last exit with code 3)' in err


def test_the_runner_keeps_its_nodes_state_in_the_status_file(tmp_path):
    path = tmp_path / 'flaky.runner.json'
    options = RunnerOptions(key='flaky', policy=RespawnPolicy(delay_s=0.05, max_restarts=1),
                            status_file=str(path))
    assert parse_arguments([*options.to_argv(), 'node'])[0] == options
    code, _, _ = run_runner(options, 'raise SystemExit(3)')
    assert code == 3
    status = read_status(path)
    assert (status.state, status.starts, status.restarts, status.last_exit, status.node_pid) == \
        (GIVEN_UP, 2, 1, 'code 3', 0)
    lines = [line for _, line in status.events]
    assert lines[0].startswith('started flaky (pid ')
    assert 'flaky exited with code 3; restarting in 0.1 s (attempt 1 of 1)' in lines
    assert lines[-1] == 'ERROR: flaky keeps dying: 1 restarts in a row failed (last exit with code 3)'


def test_a_node_killed_by_a_signal_is_restarted():
    script = ('import os, pathlib, signal, sys\n'
              'marker = pathlib.Path(sys.argv[1])\n'
              'if not marker.exists():\n'
              '    marker.touch(); os.kill(os.getpid(), signal.SIGKILL)\n'
              'print("second life", flush=True)\n')
    options = RunnerOptions(key='k', policy=RespawnPolicy(delay_s=0.05, max_restarts=3))
    marker = f'/tmp/je-node-runner-test-{os.getpid()}'
    try:
        argv = [sys.executable, '-m', 'jetson_edge_bringup.node_runner', *options.to_argv(),
                sys.executable, '-c', script, marker]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == 'second life'
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if os.path.exists(marker):
            os.unlink(marker)
    assert 'k exited with signal 9 (SIGKILL); restarting in 0.1 s (attempt 1 of 3)' in err
    assert len(STARTED.findall(err)) == 2


def test_sigint_reaches_the_node_once_and_ends_the_run_without_a_restart():
    script = ('import signal, sys, time\n'
              'signal.signal(signal.SIGINT, lambda *a: (print("got SIGINT", flush=True), sys.exit(0)))\n'
              'print("up", flush=True)\ntime.sleep(60)')
    argv = [sys.executable, '-m', 'jetson_edge_bringup.node_runner',
            *RunnerOptions(key='n').to_argv(), sys.executable, '-c', script]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'up'
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert out.splitlines() == ['got SIGINT']
    assert len(STARTED.findall(err)) == 1 and 'n stopped with exit 0' in err


def test_killing_the_runner_takes_the_node_down():
    argv = [sys.executable, '-m', 'jetson_edge_bringup.node_runner',
            *RunnerOptions(key='n').to_argv(), sys.executable, '-c',
            'import time; print("up", flush=True); time.sleep(120)']
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'up'
    node_pid = None
    while node_pid is None:
        match = STARTED.search(proc.stderr.readline())
        node_pid = int(match.group(2)) if match else None
    proc.kill()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(node_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail(f'node pid {node_pid} outlived its runner')


def test_scheduling_the_machine_refuses_is_reported_and_the_node_runs_degraded():
    missing_cpu = max(os.sched_getaffinity(0)) + 64
    ok, message = apply_scheduling(RunnerOptions(key='rt', cpus=(missing_cpu,)))
    assert not ok
    assert message.startswith(f'rt: WARNING: CPU [{missing_cpu}] not available: this process may use')
    assert message.endswith('affinity unchanged')
    if os.geteuid() != 0:
        ok, message = apply_scheduling(RunnerOptions(key='lidar', nice=-5))
        assert not ok and 'cannot set nice -5' in message
