"""The staleness bound of an input in its measured periods, on an injected clock."""

import pytest

from jetson_edge_common.staleness import PeriodicInput


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _arrivals(watch, clock, gaps):
    for gap in gaps:
        clock.now += gap
        watch.arrived()


def test_stale_after_the_bound_in_measured_periods_and_fresh_again():
    clock = Clock()
    watch = PeriodicInput('image', stale_after_periods=10, clock=clock)
    assert watch.waiting() == 'no image received yet' and watch.stale() is None
    _arrivals(watch, clock, [0.0])
    assert watch.waiting() == 'only one image received so far'
    _arrivals(watch, clock, [0.1] * 5 + [0.5] + [0.1] * 5)   # one late frame: median 0.1
    assert watch.waiting() is None and watch.period_s == pytest.approx(0.1)
    clock.now += 0.99
    assert watch.stale() is None                            # just inside 10 periods
    clock.now += 0.02
    assert watch.stale() == 'no image for 1.01 s (stale after 10 periods of 100 ms = 1.00 s)'
    _arrivals(watch, clock, [0.0])
    assert watch.stale() is None


def test_the_bound_follows_a_slower_input():
    clock = Clock()
    watch = PeriodicInput('image', stale_after_periods=3, window=4, clock=clock)
    _arrivals(watch, clock, [0.0] + [0.5] * 4)
    clock.now += 1.4
    assert watch.stale() is None
    clock.now += 0.2
    assert 'stale after 3 periods of 500 ms' in watch.stale()


def test_a_bound_below_one_period_is_refused():
    with pytest.raises(ValueError, match='stale_after_periods must be >= 1'):
        PeriodicInput('image', stale_after_periods=0)
