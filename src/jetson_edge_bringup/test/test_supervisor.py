"""The supervisor against real child processes (small Python scripts standing in for nodes, run
directly or, as ``jetson-edge up`` runs them, under node_runner)."""

import io
import re
import signal
import sys
import threading
import time

from jetson_edge_bringup import supervisor as sup
from jetson_edge_bringup.plan import NodePlan, Plan


def node(key, **kw):
    return NodePlan(key=key, package='p', executable='e', name=key, namespace='',
                    parameters={}, **kw)


def run(plan, scripts, **kw):
    out = io.StringIO()
    s = sup.Supervisor(plan, lambda n: [sys.executable, '-c', scripts[n.key]], out=out)
    code = s.run(**kw)
    return code, out.getvalue(), s


def test_output_is_prefixed_and_duration_stops_cleanly():
    plan = Plan('t', [node('talker'), node('other')])
    scripts = {'talker': 'import time\nprint("hello", flush=True)\ntime.sleep(60)',
               'other': 'import time\ntime.sleep(60)'}
    start = time.monotonic()
    code, out, _ = run(plan, scripts, duration_s=1.5)
    assert code == 0
    assert '[talker    ] hello' in out or '[talker] hello' in out
    assert 'stopping talker (SIGINT)' in out and time.monotonic() - start < 10


def run_under_runner(plan, scripts, **kw):
    out = io.StringIO()
    s = sup.Supervisor(plan, lambda n: [sys.executable, '-m', 'jetson_edge_bringup.node_runner',
                                        *n.runner_options().to_argv(),
                                        sys.executable, '-c', scripts[n.key]], out=out)
    code = s.run(**kw)
    return code, out.getvalue(), s


def test_restarts_done_by_the_runner_are_counted_and_the_node_pid_followed():
    plan = Plan('t', [node('flaky', respawn_delay_s=0.05, max_restarts=50)])
    script = 'import time; time.sleep(0.2); raise SystemExit(3)'
    code, out, s = run_under_runner(plan, {'flaky': script}, duration_s=3.0)
    assert code == 0
    child = s.children[0]
    pids = [int(pid) for _, pid in re.findall(r'\[node_runner\] started (\S+) \(pid (\d+)\)', out)]
    assert child.restarts == len(pids) - 1 >= 2
    assert child.node_pid == pids[-1]
    assert '[flaky] [node_runner] flaky exited with code 3; restarting in 0.1 s' in out


def test_node_that_keeps_dying_fails_the_run():
    plan = Plan('t', [node('bad', respawn_delay_s=0.05, max_restarts=2), node('good')])
    code, out, s = run_under_runner(
        plan, {'bad': 'raise SystemExit(1)', 'good': 'import time; time.sleep(60)'}, duration_s=60)
    assert code == 1
    assert 'bad keeps dying' in out and 'stopping good' in out
    assert s.children[0].exit_codes == [1]


def test_child_ignoring_sigint_is_killed(monkeypatch):
    monkeypatch.setattr(sup, 'STOP_GRACE_S', 0.5)
    script = ('import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n'
              'print("ready", flush=True)\ntime.sleep(60)')
    code, out, _ = run(Plan('t', [node('stubborn')]), {'stubborn': script}, duration_s=1.0)
    assert code == 0 and 'SIGKILL' in out


def test_stop_request_forwards_sigint_and_reaps_children():
    plan = Plan('t', [node('n')])
    script = ('import signal, sys, time\n'
              'signal.signal(signal.SIGINT, lambda *a: (print("got SIGINT", flush=True), sys.exit(0)))\n'
              'print("up", flush=True)\ntime.sleep(60)')
    out = io.StringIO()
    s = sup.Supervisor(plan, lambda n: [sys.executable, '-c', script], out=out)
    threading.Timer(1.0, s.stop).start()
    assert s.run() == 0
    assert 'got SIGINT' in out.getvalue()
    assert s.children[0].process is None or s.children[0].process.poll() is not None


def test_non_respawning_one_shot_node_exiting_cleanly_is_fine():
    code, out, _ = run(Plan('t', [node('once', respawn=False)]), {'once': 'print("done")'})
    assert code == 0 and 'every node has exited' in out
    assert signal.SIGINT  # the module under test installs and restores handlers


def test_before_stop_runs_while_every_node_still_runs():
    plan = Plan('t', [node('a'), node('b')])
    scripts = {key: 'import time; time.sleep(60)' for key in ('a', 'b')}
    seen = []
    out = io.StringIO()
    s = sup.Supervisor(plan, lambda n: [sys.executable, '-c', scripts[n.key]], out=out)

    def before_stop():
        seen.append([c.process is not None and c.process.poll() is None for c in s.children])
        seen.append('stopping' in out.getvalue())
    assert s.run(duration_s=1.0, before_stop=before_stop) == 0
    assert seen == [[True, True], False]
    assert 'stopping a (SIGINT)' in out.getvalue()


def test_when_up_is_called_once_after_every_node_reported_its_start():
    plan = Plan('t', [node('a'), node('b')])
    out = io.StringIO()
    s = sup.Supervisor(plan, lambda n: [sys.executable, '-m', 'jetson_edge_bringup.node_runner',
                                        *n.runner_options().to_argv(), sys.executable, '-c',
                                        'import time; time.sleep(60)'], out=out)
    seen = []
    code = s.run(duration_s=3.0, when_up=lambda: seen.append([c.starts for c in s.children]))
    assert code == 0 and seen == [[1, 1]]
