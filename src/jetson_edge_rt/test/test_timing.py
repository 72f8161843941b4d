import numpy as np
import pytest

from jetson_edge_rt.errors import ConfigError
from jetson_edge_common.diagnostics import Level
from jetson_edge_rt.timing import TimingRecorder, TimingThresholds, assess

US = 1_000


def test_ring_keeps_the_newest_cycles_in_order():
    rec = TimingRecorder(4, period_ns=1000)
    for i in range(6):
        rec.record_cycle(i * 10, i)
    latency, exec_ns, overrun = rec.samples()
    assert latency.tolist() == [20, 30, 40, 50]
    assert exec_ns.tolist() == [2, 3, 4, 5]
    assert overrun.tolist() == [0, 0, 0, 0]
    assert rec.cycles == 6


def test_overrun_marks_the_cycle_just_recorded_even_across_the_wrap():
    rec = TimingRecorder(3, period_ns=1000)
    for i in range(3):
        rec.record_cycle(i, 0)
    rec.record_overrun(2)  # third cycle sits in the last slot; index has wrapped to 0
    rec.record_cycle(3, 0)
    _, _, overrun = rec.samples()
    assert overrun.tolist() == [0, 1, 0]
    assert (rec.overruns_total, rec.missed_cycles_total) == (1, 2)


def test_snapshot_percentiles_and_window_overruns():
    rec = TimingRecorder(1000, period_ns=2_000_000)
    for i in range(1, 1001):
        rec.record_cycle(i * US, 5 * US)
    rec.record_overrun(3)
    s = rec.snapshot()
    assert s.window == 1000 and s.cycles == 1000
    assert s.missed_cycles_window == 3
    # 'higher' percentiles are always an observed sample: 1..1000 us -> ranks 500, 990, 999 (0-based)
    assert s.latency_p50_ns == 501 * US
    assert s.latency_p99_ns == 991 * US
    assert s.latency_p999_ns == 1000 * US
    assert s.latency_max_ns == 1000 * US
    assert s.exec_p99_ns == 5 * US
    assert s.overruns_window == 1
    assert s.as_dict_us()['latency_max_us'] == 1000.0


def test_overruns_leave_the_window_but_stay_in_the_total():
    rec = TimingRecorder(2, period_ns=1000)
    rec.record_cycle(0, 0)
    rec.record_overrun(1)
    rec.record_cycle(0, 0)
    rec.record_cycle(0, 0)
    s = rec.snapshot()
    assert (s.overruns_window, s.overruns_total) == (0, 1)
    assert (s.missed_cycles_window, s.missed_cycles_total) == (0, 1)


def test_empty_snapshot_is_stale():
    rec = TimingRecorder(10, period_ns=1000)
    level, message = assess(rec.snapshot(), TimingThresholds())
    assert level is Level.STALE and 'no cycles' in message


@pytest.mark.parametrize('latency_us, overruns, expected', [
    (50, 0, Level.OK),
    (300, 0, Level.WARN),
    (2000, 0, Level.ERROR),
    (50, 1, Level.WARN),
    (50, 11, Level.ERROR),
])
def test_assess_levels(latency_us, overruns, expected):
    rec = TimingRecorder(100, period_ns=2_000_000)
    for i in range(100):
        rec.record_cycle(latency_us * US, 10 * US)
        if i < overruns:
            rec.record_overrun(1)
    level, message = assess(rec.snapshot(), TimingThresholds(latency_warn_us=200, latency_error_us=1000,
                                                             overrun_warn=0, overrun_error=10))
    assert level is expected
    assert f'p99 wake-up latency {latency_us} us' in message


def test_thresholds_refuse_inverted_limits():
    with pytest.raises(ConfigError, match='warn <= error'):
        TimingThresholds(latency_warn_us=500, latency_error_us=100)
    with pytest.raises(ConfigError, match='overrun'):
        TimingThresholds(overrun_warn=5, overrun_error=1)


def test_recorder_buffers_are_preallocated_and_reused():
    rec = TimingRecorder(8, period_ns=1000)
    buffer = rec._latency
    before = buffer.ctypes.data
    for i in range(100):
        rec.record_cycle(i, i)
    assert rec._latency is buffer and buffer.ctypes.data == before
    assert np.array_equal(np.sort(rec.samples()[0]), np.arange(92, 100))
