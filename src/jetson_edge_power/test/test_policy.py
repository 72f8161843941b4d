"""Thermal/power policy: thresholds, hysteresis, dwell, mode ladder, battery, memory."""

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from jetson_edge_power.hardware import layout_of
from jetson_edge_power.params import MANAGER_SPECS
from jetson_edge_power.policy import MemoryLevel, PolicyInputs, ThermalLevel, ThermalPolicy
from jetson_edge_power.settings import policy_config

LADDER = (2, 1, 0, 3)  # Orin Nano JetPack 6.2: MAXN_SUPER, 25W, 15W, 7W
# the node's configuration from the schema's defaults on the sim board, starting at the top
SCHEMA = policy_config({**{s.name: s.default for s in MANAGER_SPECS}, 'power_mode': 2,
                        'low_power_mode': 3}, layout_of('sim')[0])


def make(**overrides):
    return ThermalPolicy(dataclasses.replace(SCHEMA, **overrides))


def feed(policy, samples):
    return [policy.update(PolicyInputs(now=t, max_temp_c=temp, hottest_zone='tj'))
            for t, temp in samples]


def test_levels_rise_with_thresholds_and_actions_follow():
    policy = make()
    d0, d1, d2, d3 = feed(policy, [(0, 50), (10, 71), (20, 81), (30, 91)])
    assert [d.level for d in (d0, d1, d2, d3)] == list(ThermalLevel)
    assert d0.power_mode == 2 and d1.power_mode == 2  # warm: fan and rate only
    assert d2.power_mode == 1  # hot: one step down
    assert d3.power_mode == 3  # critical: the bottom of the ladder
    assert d0.fan_pwm is None and d1.fan_pwm == 160 and d2.fan_pwm == 255
    assert [d.perception_load for d in (d0, d1, d2, d3)] == [1.0, 0.75, 0.5, 0.25]
    assert 'tj 81.0C >= hot 80C: warm -> hot' in d2.reason


def test_jump_straight_to_critical_is_one_transition():
    policy = make()
    feed(policy, [(0, 50)])
    (d,) = feed(policy, [(1, 95)])
    assert d.level == ThermalLevel.CRITICAL and d.transition and d.power_mode == 3


def test_hysteresis_keeps_level_until_threshold_minus_hysteresis():
    policy = make()
    feed(policy, [(0, 81)])
    held = feed(policy, [(10, 79), (20, 76), (30, 75.5)])
    assert all(d.level == ThermalLevel.HOT for d in held)
    (down,) = feed(policy, [(40, 74.9)])
    assert down.level == ThermalLevel.WARM
    assert 'hot threshold minus hysteresis' in down.reason


def test_dwell_holds_a_transition_and_says_so():
    policy = make()
    feed(policy, [(0, 81)])
    (held,) = feed(policy, [(2, 60)])
    assert held.level == ThermalLevel.HOT and not held.transition
    assert 'dwell' in held.reason and '3.0s left' in held.reason
    (after,) = feed(policy, [(5, 60)])
    assert after.level == ThermalLevel.NOMINAL


def test_staying_hot_steps_down_each_dwell_and_cooling_steps_back_up_slower():
    policy = make(step_up_dwell_s=20.0)
    modes = [d.power_mode for d in feed(policy, [(0, 82), (5, 83), (10, 83), (15, 83)])]
    assert modes == [1, 0, 3, 3]  # one step per dwell, never below the bottom
    cooled = feed(policy, [(20, 60), (30, 60), (40, 60), (50, 60), (60, 60), (70, 60),
                           (80, 60), (90, 60)])
    assert [d.level for d in cooled] == [ThermalLevel.NOMINAL] * 8
    assert [d.power_mode for d in cooled] == [3, 3, 0, 0, 1, 1, 2, 2]
    assert 'nominal for 20s, stepping power mode up' in cooled[2].reason


def test_reentering_hot_steps_further_down():
    policy = make()
    feed(policy, [(0, 81), (5, 76)])  # hot at 25W, cooled to warm (still 25W)
    (again,) = feed(policy, [(10, 81)])
    assert again.level == ThermalLevel.HOT and again.power_mode == 0


def test_preferred_mode_is_the_top_the_policy_returns_to():
    policy = make(preferred_mode=0)
    assert feed(policy, [(0, 50)])[0].power_mode == 0
    assert feed(policy, [(1, 81)])[0].power_mode == 3


def test_battery_low_floors_mode_and_recovers_with_hysteresis():
    policy = make()
    def battery(t, pct):
        return policy.update(PolicyInputs(now=t, max_temp_c=50, battery_pct=pct))
    assert battery(0, 50).power_mode == 2
    low = battery(1, 15)
    assert low.battery_low and low.power_mode == 3 and low.perception_load == 0.5
    assert 'battery 15% < 20%' in low.reason
    assert battery(2, 22).battery_low  # between low and recover: still low
    assert battery(3, 26).power_mode == 2


def test_memory_pressure_warns_errors_and_sheds_rate():
    policy = make()
    def mem(t, used):
        return policy.update(PolicyInputs(now=t, max_temp_c=50, mem_used_fraction=used))
    assert mem(0, 0.5).memory == MemoryLevel.OK
    warn = mem(1, 0.9)
    assert warn.memory == MemoryLevel.WARN and warn.perception_load == 0.75
    error = mem(2, 0.97)
    assert error.memory == MemoryLevel.ERROR and error.perception_load == 0.5
    assert 'shedding perception load' in error.reason
    assert mem(3, 0.94).memory == MemoryLevel.ERROR  # within hysteresis of 0.95
    assert mem(4, 0.92).memory == MemoryLevel.WARN


def test_missing_temperature_holds_level():
    policy = make()
    feed(policy, [(0, 81)])
    d = policy.update(PolicyInputs(now=30, max_temp_c=None))
    assert d.level == ThermalLevel.HOT and 'no temperature reading' in d.reason


@pytest.mark.parametrize('bad, message', [
    (dict(warm_c=80, hot_c=70), 'thresholds must rise'),
    (dict(hysteresis_c=0), 'hysteresis_c must be > 0'),
    (dict(hysteresis_c=20), 'below the gap'),
    (dict(preferred_mode=7), 'not on the ladder'),
    (dict(battery_low_pct=30, battery_recover_pct=20), 'battery_recover_pct'),
    (dict(step_up_dwell_s=1.0), 'step_up_dwell_s'),
])
def test_invalid_configuration_is_refused_with_reason(bad, message):
    with pytest.raises(ValueError, match=message):
        make(**bad)


def test_changed_flag_only_when_an_output_changes():
    policy = make()
    decisions = feed(policy, [(0, 50), (1, 51), (2, 71), (3, 72)])
    assert [d.changed for d in decisions] == [True, False, True, False]


@settings(max_examples=300, deadline=None)
@given(base=st.floats(min_value=40, max_value=100),
       noise=st.lists(st.floats(min_value=-15, max_value=15), min_size=5, max_size=200),
       steps=st.lists(st.floats(min_value=0.05, max_value=3.0), min_size=200, max_size=200),
       dwell=st.floats(min_value=0.5, max_value=10))
def test_noise_never_causes_more_than_one_transition_per_dwell(base, noise, steps, dwell):
    policy = make(min_dwell_s=dwell)
    now, times = 0.0, []
    for i, delta in enumerate(noise):
        now += steps[i]
        decision = policy.update(PolicyInputs(now=now, max_temp_c=base + delta))
        if decision.transition:
            times.append(now)
    assert all(b - a >= dwell for a, b in zip(times, times[1:]))


def test_suite_processes_memory_raises_its_own_level():
    policy = make(suite_warn_bytes=1 << 30, suite_error_bytes=2 << 30)
    def suite(t, rss):
        return policy.update(PolicyInputs(now=t, max_temp_c=50, mem_used_fraction=0.3,
                                          suite_rss_bytes=rss))
    assert suite(0, 500 << 20).memory == MemoryLevel.OK
    warn = suite(1, 1500 << 20)
    assert warn.memory == MemoryLevel.WARN and 'suite processes use 1500 MiB' in warn.reason
    assert suite(2, 3 << 30).memory == MemoryLevel.ERROR
    assert suite(3, 500 << 20).memory == MemoryLevel.OK
