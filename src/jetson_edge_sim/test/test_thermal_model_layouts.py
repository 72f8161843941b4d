"""The thermal model writes each Jetson model's own tree: the production readers find every
rail, zone, the fan and the power mode the layout names (a dress rehearsal relies on it)."""

import pytest

from jetson_edge_common.profiles import available_profiles
from jetson_edge_power.hardware import layout_of
from jetson_edge_power.monitor import BoardMonitor
from jetson_edge_power.sysfs import SysfsRoot
from jetson_edge_sim.power.thermal_model import ThermalModel


@pytest.mark.parametrize('profile', available_profiles())
def test_the_readers_find_everything_the_layout_names(profile, tmp_path):
    layout, _ = layout_of(profile)
    thermal = ThermalModel(layout, tmp_path)
    thermal.set_load(cpu_load=0.5, inference_rate_hz=5.0)
    thermal.step(1.0)
    snap = BoardMonitor(layout, SysfsRoot(tmp_path), use_psutil=False, use_nvml=False).sample()
    assert snap.missing == ()
    assert set(snap.rails) == set(layout.expected_rails)
    assert snap.board.fan_pwm == thermal.fan_pwm
    assert snap.power_mode_id == thermal.mode_id
    assert snap.total_power_mw > 0
