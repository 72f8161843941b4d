"""The manager's staleness bound on its own input, the board's sysfs readings, counted in
sample periods on an injected clock."""

import shutil

import boards

from jetson_edge_power.hardware import layout_of
from jetson_edge_power.manager import PowerManager
from jetson_edge_power.monitor import BoardMonitor
from jetson_edge_power.params import MANAGER_SPECS
from jetson_edge_power.policy import ThermalPolicy
from jetson_edge_power.settings import policy_config
from jetson_edge_power.sysfs import SysfsRoot


def _manager(root, *, periods):
    layout, _ = layout_of('orin_nano')
    defaults = {s.name: s.default for s in MANAGER_SPECS}
    monitor = BoardMonitor(layout, SysfsRoot(root, retry_s=0.0), use_psutil=False,
                           use_nvml=False)
    return PowerManager(monitor, ThermalPolicy(policy_config(defaults, layout)),
                        sample_period_s=0.5, stale_after_periods=periods)


def test_vanished_zones_are_stale_after_the_bound_and_recover(tmp_path):
    boards.orin_nano(tmp_path)
    manager = _manager(tmp_path, periods=4)                 # 4 x 0.5 s
    assert manager.readings_stale(0.0) is None              # nothing sampled yet
    manager.tick(now=10.0)
    assert manager.readings_stale(12.0) is None
    shutil.rmtree(tmp_path / 'sys/class/thermal')             # the zones vanish
    for now in (10.5, 11.0, 11.5, 12.0):
        manager.tick(now=now)
    assert manager.readings_stale(12.0) is None              # exactly the bound: not yet
    why = manager.readings_stale(12.1)
    assert why and 'no board temperature read for 2.1 s' in why
    assert 'stale after 4 sample periods = 2 s' in why
    boards.orin_nano(tmp_path)                               # the zones come back
    manager.tick(now=12.5)
    assert manager.readings_stale(12.6) is None


def test_a_loop_that_stops_ticking_is_stale(tmp_path):
    boards.orin_nano(tmp_path)
    manager = _manager(tmp_path, periods=10)
    manager.tick(now=0.0)
    assert manager.readings_stale(5.0) is None
    assert 'for 5.1 s' in manager.readings_stale(5.1)


def test_a_board_with_no_readable_zone_from_the_start_is_stale(tmp_path):
    manager = _manager(tmp_path, periods=2)                  # an empty root
    manager.tick(now=0.0)
    assert manager.readings_stale(1.0) is None
    assert manager.readings_stale(1.5).startswith('no board temperature read (stale after')
