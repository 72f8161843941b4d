"""The sim board end to end: the model heats, the manager steps down, it cools, steps back up.

The manager reads the model's tree through the production readers and acts through the
production actuators (nvpmodel emulated over the tree, the fan written to ``pwm1``); the
load level it asks of perception, times perception's own 30 Hz, is the inference rate that
heats the model.
"""

import pytest

from jetson_edge_power.hardware import layout_of
from jetson_edge_power.sim_loop import build_sim_loop
from jetson_edge_power.thermal_model import ThermalModel

TOP, BOTTOM = 2, 3  # sim ladder: MAXN_SUPER(2) > 25W(1) > 15W(0) > 7W(3)
RATE = {'NOMINAL': 30.0, 'WARM': 22.5, 'HOT': 15.0, 'CRITICAL': 7.5}


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    loop = build_sim_loop(tmp_path_factory.mktemp('sim'))
    while loop.now < 1200:
        cooling = loop.now >= 600  # the robot idles in a cooler room
        loop.model.ambient_c = 20.0 if cooling else 35.0
        loop.cpu_load = 0.1 if cooling else 0.9
        loop.step(1.0)
    return loop.records


def test_heating_reaches_hot_and_steps_the_mode_down(run):
    heating = [r for r in run if r.t < 600]
    first_hot = next(r for r in heating if r.level == 'HOT')
    assert first_hot.mode != TOP
    assert min(r.temp_c for r in heating[:10]) < 60 < first_hot.temp_c
    ladder = [2, 1, 0, 3]
    lowest = max(ladder.index(r.mode) for r in heating)
    assert lowest >= 2, 'stayed hot, so it stepped down more than once'


def test_never_reaches_critical_or_the_hardware_throttle(run):
    assert all(r.level != 'CRITICAL' for r in run)
    assert max(r.temp_c for r in run) < 85.0  # T234 throttles at 99 C


def test_cooling_steps_back_up_to_the_top_mode(run):
    cooling = [r for r in run if r.t >= 600]
    back_on_top = next(r for r in cooling if r.mode == TOP)
    assert back_on_top.level == 'NOMINAL'
    assert 'stepping power mode up' in back_on_top.reason
    assert run[-1].mode == TOP and run[-1].rate_hz == 30.0


def test_perception_load_follows_the_level_every_tick(run):
    assert all(r.rate_hz == RATE[r.level] for r in run)
    assert {r.rate_hz for r in run} >= {30.0, 22.5, 15.0}


def test_transitions_respect_the_dwell(run):
    times = [r.t for r in run if r.transition]
    assert len(times) >= 6
    assert all(b - a >= 5.0 for a, b in zip(times, times[1:]))


def test_model_physics_more_fan_or_lower_mode_runs_cooler(tmp_path):
    layout, _ = layout_of('sim')
    model = ThermalModel(layout, tmp_path)
    model.set_load(cpu_load=0.8, inference_rate_hz=30)
    model.step(1.0)
    base_power, base_ss = model.power_w, model.steady_state_c()
    (tmp_path / 'sys/devices/platform/pwm-fan/hwmon/hwmon3/pwm1').write_text('255\n')
    model.step(1.0)
    assert model.steady_state_c() < base_ss and model.power_w == pytest.approx(base_power)
    (tmp_path / 'var/lib/nvpmodel/status').write_text('pmode:0003 fmode:quiet\n')
    model.step(1.0)
    assert model.power_w < base_power * 0.6
    assert model.achieved_rate_hz < 30  # 7W cannot sustain 30 Hz


def test_a_load_request_that_failed_then_succeeded_is_no_longer_an_error(tmp_path):
    # perception was not up yet (no parameter service), then the retry went through
    loop = build_sim_loop(tmp_path)
    loop.manager.mark_failed('perception_load', 'perception offers no parameter service')
    assert 'perception_load' in loop.manager.errors()
    loop.manager.mark_succeeded('perception_load')
    assert loop.manager.errors() == {}
