"""The periodic loop's bookkeeping and overrun policies, on a simulated clock (no real time involved)."""
import threading
import time

import pytest

from jetson_edge_rt.clock import MonotonicClock, SimulatedClock
from jetson_edge_rt.errors import ConfigError
from jetson_edge_rt.loop import OverrunPolicy, PeriodicLoop
from jetson_edge_rt.timing import TimingRecorder

P = 1_000_000  # 1 ms period


def _run(exec_ns, *, latencies=(), policy=OverrunPolicy.SKIP, max_catch_up=10, cycles=None, start=0, spin_ns=0):
    """Run a loop whose cycle k takes exec_ns[k]; returns (wake times, dts, recorder, clock)."""
    clock = SimulatedClock(start, wake_latencies_ns=tuple(latencies))
    rec = TimingRecorder(1000, period_ns=P)
    wakes, dts = [], []

    def update(now, dt):
        wakes.append(now)
        dts.append(dt)
        clock.advance(exec_ns[len(wakes) - 1])

    loop = PeriodicLoop(P, update, clock=clock, recorder=rec, policy=policy, max_catch_up=max_catch_up,
                        spin_ns=spin_ns)
    loop.run(max_cycles=cycles or len(exec_ns))
    return wakes, dts, rec, clock


def test_deadlines_are_absolute_so_late_wakeups_do_not_drift():
    latencies = [0, 300_000, 0, 150_000, 0]
    wakes, dts, rec, _ = _run([100_000] * 5, latencies=latencies, start=5 * P)
    deadlines = [5 * P + (k + 1) * P for k in range(5)]
    assert wakes == [d + lat for d, lat in zip(deadlines, latencies)]
    latency, exec_ns, _ = rec.samples()
    assert latency.tolist() == latencies
    assert exec_ns.tolist() == [100_000] * 5
    assert dts == [P, P + 300_000, P - 300_000, P + 150_000, P - 150_000]
    assert rec.overruns_total == 0


def test_spin_absorbs_wakeup_latency_up_to_its_margin():
    # woken 200 us before each deadline: 30 and 150 us late wake-ups still start on time,
    # 250 us is 50 us late, and a spin never starts a cycle early
    latencies = [30_000, 150_000, 250_000, 0]
    wakes, _, rec, clock = _run([100_000] * 4, latencies=latencies, spin_ns=200_000)
    deadlines = [(k + 1) * P for k in range(4)]
    assert wakes == [deadlines[0], deadlines[1], deadlines[2] + 50_000, deadlines[3]]
    assert rec.samples()[0].tolist() == [0, 0, 50_000, 0]
    assert clock.sleeps == 4


def test_skip_policy_drops_missed_deadlines_and_keeps_the_grid():
    # cycle 1 runs 2.5 periods: deadlines 2P and 3P pass while it runs, 4P is next
    wakes, _, rec, _ = _run([0, int(2.5 * P), 0, 0])
    assert wakes == [P, 2 * P, 5 * P, 6 * P]
    assert (rec.overruns_total, rec.missed_cycles_total) == (1, 2)
    _, _, flags = rec.samples()
    assert flags.tolist() == [0, 1, 0, 0]


def test_cycle_ending_exactly_on_the_next_deadline_is_not_an_overrun():
    wakes, _, rec, _ = _run([P, 0, 0])
    assert wakes == [P, 2 * P, 3 * P]
    assert rec.overruns_total == 0


def test_catch_up_policy_runs_missed_cycles_back_to_back():
    wakes, dts, rec, _ = _run([0, int(2.5 * P), 0, 0, 0, 0], policy=OverrunPolicy.CATCH_UP)
    # cycle 1 ends at 4.5P; cycles due at 3P and 4P run at once, then the grid resumes at 5P
    assert wakes == [P, 2 * P, int(4.5 * P), int(4.5 * P), 5 * P, 6 * P]
    latency, _, _ = rec.samples()
    assert latency.tolist()[:5] == [0, 0, int(1.5 * P), int(0.5 * P), 0]
    # the 3P cycle also ended after its next deadline (4P): catch-up cycles that start late count too
    assert (rec.overruns_total, rec.missed_cycles_total) == (2, 0)
    assert dts[3] == 0


def test_catch_up_is_bounded_and_skips_the_rest():
    wakes, _, rec, _ = _run([0, int(5.5 * P), 0, 0, 0], policy=OverrunPolicy.CATCH_UP, max_catch_up=2)
    # ends at 7.5P; deadlines 3P..7P passed (5); catch up the last 2 (6P, 7P), skip 3
    assert wakes[2:] == [int(7.5 * P), int(7.5 * P), 8 * P]
    assert (rec.overruns_total, rec.missed_cycles_total) == (2, 3)


def test_stop_from_another_thread_ends_the_loop():
    clock = SimulatedClock()
    rec = TimingRecorder(10, period_ns=P)
    calls = []
    loop = PeriodicLoop(P, lambda now, dt: calls.append(now) or (len(calls) == 3 and loop.stop()),
                        clock=clock, recorder=rec)
    t = threading.Thread(target=loop.run)
    t.start()
    t.join(5)
    assert not t.is_alive()
    assert len(calls) == 3 and rec.cycles == 3


def test_exceptions_in_update_propagate():
    clock = SimulatedClock()

    def boom(now, dt):
        raise RuntimeError('controller bug')

    with pytest.raises(RuntimeError, match='controller bug'):
        PeriodicLoop(P, boom, clock=clock, recorder=TimingRecorder(10, period_ns=P)).run(max_cycles=3)


def test_configuration_errors():
    rec = TimingRecorder(10, period_ns=P)
    with pytest.raises(ConfigError, match='positive'):
        PeriodicLoop(0, lambda n, d: None, clock=SimulatedClock(), recorder=rec)
    with pytest.raises(ConfigError, match='differs'):
        PeriodicLoop(2 * P, lambda n, d: None, clock=SimulatedClock(), recorder=rec)
    with pytest.raises(ValueError):
        PeriodicLoop(P, lambda n, d: None, clock=SimulatedClock(), recorder=rec, policy='sometimes')
    with pytest.raises(ConfigError, match='spin'):
        PeriodicLoop(P, lambda n, d: None, clock=SimulatedClock(), recorder=rec, spin_ns=P)


def test_simulated_clock_returns_at_once_for_a_past_deadline():
    clock = SimulatedClock(10, wake_latencies_ns=(5,))
    clock.sleep_until_ns(3)
    assert clock.now_ns() == 10
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_monotonic_clock_spin_returns_at_or_after_the_deadline():
    clock = MonotonicClock()
    deadline = time.monotonic_ns() + 200_000
    assert clock.spin_until_ns(deadline) >= deadline
    assert time.monotonic_ns() >= deadline
