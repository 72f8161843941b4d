"""The supervisor against real child processes (small Python scripts standing in for nodes)."""

import io
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


def test_crashed_node_is_restarted_with_backoff(monkeypatch):
    monkeypatch.setattr(sup, 'STABLE_AFTER_S', 100.0)
    plan = Plan('t', [node('flaky', respawn_delay_s=0.1, max_restarts=10)])
    code, out, s = run(plan, {'flaky': 'import sys; sys.exit(3)'}, duration_s=2.0)
    assert code == 0
    child = s.children[0]
    assert child.restarts >= 2 and set(child.exit_codes) == {3}
    assert 'restarting in 0.1 s' in out and 'restarting in 0.2 s' in out


def test_node_that_keeps_dying_fails_the_run():
    plan = Plan('t', [node('bad', respawn_delay_s=0.05, max_restarts=2), node('good')])
    code, out, _ = run(plan, {'bad': 'raise SystemExit(1)', 'good': 'import time; time.sleep(60)'},
                       duration_s=20)
    assert code == 1
    assert 'bad keeps dying' in out and 'stopping good' in out


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
