import numpy as np

from jetson_edge_common.diagnostics import Level, Staleness, Status, threshold_level, worst
from jetson_edge_common.stats import LatencyStats, RateMeter, percentiles
from jetson_edge_common.throttle import Throttled


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_worst_keeps_highest_level_and_merges_values():
    merged = worst(Status.ok(a=1), Status.warn('hot', b=2), Status.warn('slow'))
    assert merged.level == Level.WARN and merged.message == 'hot; slow'
    assert merged.values == {'a': 1, 'b': 2}


def test_threshold_and_staleness():
    assert threshold_level(5, warn=10, error=20) == Level.OK
    assert threshold_level(15, warn=10, error=20) == Level.WARN
    assert threshold_level(25, warn=10, error=20) == Level.ERROR
    clock = FakeClock()
    s = Staleness(clock=clock)
    assert s.age() == float('inf')
    s.touch()
    clock.t = 1.5
    assert s.age() == 1.5


def test_rate_meter_counts_inside_its_window():
    clock = FakeClock()
    meter = RateMeter(window_s=1.0, clock=clock)
    for i in range(20):
        clock.t = i * 0.1
        meter.tick()
    assert meter.rate() == 11  # events at 0.9 .. 1.9 inclusive of the window edge
    clock.t = 10
    assert meter.rate() == 0 and meter.total == 20


def test_latency_stats_ring_and_percentiles():
    stats = LatencyStats(capacity=100)
    for v in range(1000):
        stats.add(float(v))
    assert stats.count == 1000 and stats.samples().min() == 900
    assert stats.summary()['max'] == 999
    p = percentiles(np.arange(101), (50, 99))
    assert p[50] == 50 and p[99] == 99
    assert np.isnan(percentiles([], (50,))[50])


def test_throttled_counts_suppressed_messages():
    clock = FakeClock()
    out = []
    warn = Throttled(out.append, 5.0, clock=clock)
    assert warn('bad packet')
    for _ in range(3):
        assert not warn('bad packet')
    clock.t = 6
    assert warn('bad packet')
    assert out == ['bad packet', 'bad packet (3 similar suppressed)']
