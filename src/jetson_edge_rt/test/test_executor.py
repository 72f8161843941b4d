"""The executor wiring: controller in a loop, outputs through the hand-off, failures made safe."""
import errno
import os
import threading
import time

import numpy as np
import pytest

from jetson_edge_rt.buffers import LatestValue, PublishHandoff
from jetson_edge_rt.clock import SimulatedClock
from jetson_edge_rt.controllers.balance import BalanceController
from jetson_edge_rt.controllers.base import Controller
from jetson_edge_rt.errors import ConfigError
from jetson_edge_rt.executor import LoopConfig, LoopRunner, ProcessConfig, RtExecutor
from jetson_edge_rt.inputs import ImuSample
from jetson_edge_common.diagnostics import Level
from jetson_edge_common.testing import wait_for
from jetson_edge_rt.rt_setup import check_capabilities

MS = 1_000_000


class Counting(Controller):
    """A minimal controller: counts updates, commands the count, fails on request."""

    def __init__(self, fail_at=None):
        self.updates = 0
        self.fail_at = fail_at
        self.events = []

    def configure(self, params, inputs):
        pass

    @property
    def command_names(self):
        return ('count',)

    def activate(self, now_ns):
        self.events.append('activate')

    def deactivate(self):
        self.events.append('deactivate')

    def update(self, now_ns, dt_ns, command):
        self.updates += 1
        if self.updates == self.fail_at:
            raise ZeroDivisionError('bad gain')
        command[0] = self.updates
        return Level.OK

    def safe_command(self, command):
        command[0] = -1.0

    def status(self):
        return Level.OK, f'{self.updates} updates', {}


class Unhurried(Counting):
    """Simulated time runs instantly: each cycle first waits until the publisher thread took the last command."""

    def __init__(self, output):
        super().__init__()
        self.output = output

    def update(self, now_ns, dt_ns, command):
        deadline = time.monotonic() + 30.0  # generous: a loaded machine may starve the publisher thread
        while self.output.published < self.updates and time.monotonic() < deadline:
            time.sleep(0.001)
        return super().update(now_ns, dt_ns, command)


def test_runner_publishes_every_cycle_and_the_safe_command_last():
    published = []
    out = PublishHandoff(1, lambda v: published.append(v[0]))
    c = Unhurried(out)
    runner = LoopRunner(LoopConfig(rate_hz=1000), c, output=out, clock=SimulatedClock())
    out.start()
    assert runner.run(max_cycles=5, apply_setup=False) == 5
    assert published[-1] == -1.0
    assert published[:-1] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert c.events == ['activate', 'deactivate']
    assert runner.health is Level.OK
    assert runner.timing().cycles == 5


def test_controller_exception_stops_the_loop_safe_and_reported():
    published = []
    out = PublishHandoff(1, lambda v: published.append(v[0]))
    runner = LoopRunner(LoopConfig(rate_hz=1000), Counting(fail_at=3), output=out, clock=SimulatedClock())
    assert runner.run(max_cycles=10, apply_setup=False) == 2
    assert published[-1] == -1.0
    level, message = runner.timing_status()
    assert level is Level.ERROR and 'ZeroDivisionError: bad gain' in message and 'safe command' in message


class RecordingBalance(BalanceController):
    def __init__(self):
        super().__init__()
        self.commands = []

    def update(self, now_ns, dt_ns, command):
        health = super().update(now_ns, dt_ns, command)
        self.commands.append((now_ns, command.copy()))
        return health


def test_balance_in_the_loop_trips_its_watchdog_on_simulated_time():
    imu = LatestValue()
    imu.write_from_non_rt(ImuSample(0.0499792, 0.0, 0.0, 0.9987503, 0.0, 0.0, 0.0, 0, True))  # roll 0.1 rad
    controller = RecordingBalance()
    controller.configure({}, {'imu': imu})
    runner = LoopRunner(LoopConfig(rate_hz=500), controller, clock=SimulatedClock(start_ns=0))
    runner.run(max_cycles=30, apply_setup=False)  # cycles at 2, 4, ..., 60 ms; IMU limit 50 ms
    fresh = [c for t, c in controller.commands if t <= 50 * MS]
    stale = [c for t, c in controller.commands if t > 50 * MS]
    assert len(fresh) == 25 and len(stale) == 5
    assert all(c[0] == pytest.approx(-0.1, abs=1e-6) for c in fresh)
    assert all(np.all(c == 0.0) for c in stale)
    assert controller.watchdog_trips == 1
    assert runner.health is Level.ERROR


def test_output_size_must_match_the_controller():
    with pytest.raises(ConfigError, match='carries 3 values'):
        LoopRunner(LoopConfig(), Counting(), output=PublishHandoff(3, lambda v: None))


@pytest.mark.parametrize('kwargs, match', [(dict(rate_hz=0), 'rate'), (dict(priority=100), 'priority'),
                                           (dict(window_s=0), 'window')])
def test_loop_config_validation(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        LoopConfig(**kwargs)


def test_duplicate_loop_names_are_refused():
    a = LoopRunner(LoopConfig(name='x'), Counting())
    b = LoopRunner(LoopConfig(name='x', rate_hz=30), Counting())
    with pytest.raises(ConfigError, match='unique'):
        RtExecutor(ProcessConfig(), [a, b])


def test_executor_runs_two_loops_in_threads_and_reports_degraded_setup(monkeypatch):
    def refuse(pid, policy, param):
        raise PermissionError(errno.EPERM, 'Operation not permitted')
    monkeypatch.setattr(os, 'sched_setscheduler', refuse)
    control = Counting()
    aux = Counting()
    published = []
    runners = [LoopRunner(LoopConfig(name='control', rate_hz=200, priority=80), control,
                          output=PublishHandoff(1, lambda v: published.append(v[0]))),
               LoopRunner(LoopConfig(name='aux', rate_hz=30, priority=0), aux)]
    process = ProcessConfig(mlock=False, gc_freeze=False, cpu_dma_latency_us=-1)
    with RtExecutor(process, runners) as executor:
        deadline = time.monotonic() + 10
        while (control.updates < 20 or aux.updates < 3) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert all(r.running for r in runners)
    assert not any(r.running for r in runners)
    names = {c.name: c for c in executor.setup}
    assert not names['control loop priority'].ok
    assert 'SCHED_FIFO priority 80 not permitted (EPERM)' in names['control loop priority'].message
    assert names['aux loop priority'].ok
    assert [c.name for c in executor.degraded] == ['control loop priority', 'control publisher thread',
                                                   'executor thread priority']
    assert control.updates >= 20 and aux.updates >= 3
    assert published[-1] == -1.0


def test_failing_final_publish_is_recorded_not_raised():
    def publish(values):
        raise RuntimeError("publisher's context is invalid")

    out = PublishHandoff(1, publish)
    runner = LoopRunner(LoopConfig(rate_hz=1000), Counting(), output=out, clock=SimulatedClock())
    assert runner.run(max_cycles=3, apply_setup=False) == 3
    assert runner.final_publish_error == "RuntimeError: publisher's context is invalid"


def test_companion_priority_at_or_above_a_loop_is_refused():
    loop = LoopRunner(LoopConfig(name='control', rate_hz=200, priority=20), Counting())
    with pytest.raises(ConfigError, match=r"companion priority 20 must be below .*\['control'\]"):
        RtExecutor(ProcessConfig(companion_priority=20), [loop])
    RtExecutor(ProcessConfig(companion_priority=19), [loop])


@pytest.mark.skipif(not check_capabilities(priority=2)[0].ok, reason='SCHED_FIFO not permitted here')
def test_companion_threads_run_real_time_below_the_loop_until_stop():
    """The GIL's other takers, the thread that started the executor and the publisher thread, run SCHED_FIFO.

    Where there is a core besides the loop's, they keep off the loop's core.
    """
    seen = {}
    allowed = os.sched_getaffinity(0)
    loop_cpus = (max(allowed),) if len(allowed) > 1 else ()
    others = allowed - set(loop_cpus)

    def publish(values):
        seen.setdefault('publisher', (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority,
                                      os.sched_getaffinity(0)))

    def starter():
        runner = LoopRunner(LoopConfig(name='control', rate_hz=200, priority=3, cpus=loop_cpus), Counting(),
                            output=PublishHandoff(1, publish))
        executor = RtExecutor(ProcessConfig(mlock=False, gc_freeze=False, cpu_dma_latency_us=-1,
                                            companion_priority=2), [runner])
        executor.start()
        seen['starter'] = os.sched_getscheduler(0), os.sched_getparam(0).sched_priority, os.sched_getaffinity(0)
        wait_for(lambda: 'publisher' in seen, 10, 'a published command')
        executor.stop()
        seen['after stop'] = os.sched_getscheduler(0), os.sched_getparam(0).sched_priority, os.sched_getaffinity(0)
        seen['setup'] = {c.name: c.ok for c in executor.setup}

    t = threading.Thread(target=starter)
    t.start()
    t.join()
    assert seen['setup']['executor thread priority'] and seen['setup']['control publisher thread']
    assert seen['starter'] == (os.SCHED_FIFO, 2, others)
    assert seen['publisher'] == (os.SCHED_FIFO, 2, others)
    assert seen['after stop'] == (os.SCHED_OTHER, 0, allowed)
