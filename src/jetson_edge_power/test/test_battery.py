import math

from jetson_edge_power.battery import battery_percent
from jetson_edge_power.manager import PowerManager


def test_percentage_first_then_charge_over_capacity_then_unknown():
    assert battery_percent(0.42, math.nan, math.nan) == 42.0
    assert battery_percent(math.nan, 1.5, 3.0) == 50.0
    assert battery_percent(math.nan, math.nan, 3.0) is None
    assert battery_percent(math.nan, 1.5, 0.0) is None


def test_a_battery_reading_older_than_the_timeout_is_forgotten():
    manager = PowerManager(None, None, battery_timeout_s=30.0)  # no board: bookkeeping only
    manager.report_battery(15.0, now=100.0)
    assert manager.battery_at(now=129.0) == 15.0
    assert manager.battery_at(now=131.0) is None
