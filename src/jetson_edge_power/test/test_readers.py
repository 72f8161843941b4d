"""Readers against trees laid out as on an Orin Nano, AGX Orin, Xavier NX and Jetson Nano."""

import logging

import boards
import pytest

from jetson_edge_power.hardware import layout_of
from jetson_edge_power.layout import layout_from_dict
from jetson_edge_power.monitor import BoardMonitor
from jetson_edge_power.readers import zone_key
from jetson_edge_power.sysfs import SysfsRoot


def _monitor(model, root):
    layout, problems = layout_of(model)
    assert problems == []
    return BoardMonitor(layout, SysfsRoot(root, retry_s=0.0), use_psutil=False, use_nvml=False)


def test_zone_key_maps_every_jetpack_spelling():
    assert zone_key('CPU-therm') == zone_key('cpu-thermal') == 'cpu'
    assert zone_key('Tj-therm') == 'tj'
    assert zone_key('Tdiode_tegra') == 'tdiode_tegra'
    assert zone_key('PMIC-Die') == 'pmic-die'


def test_orin_nano_tree(tmp_path):
    expected = boards.orin_nano(tmp_path)
    snap = _monitor('orin_nano', tmp_path).sample()
    assert snap.temps_c['tj'] == pytest.approx(expected['tj'])
    assert snap.temps_c['gpu'] == pytest.approx(expected['gpu'])
    assert not any(z.startswith('cv') for z in snap.temps_c), 'gated CV zones read -256 C'
    assert set(snap.rails) == {'VDD_IN', 'VDD_CPU_GPU_CV', 'VDD_SOC'}
    assert snap.total_power_mw == pytest.approx(expected['VDD_IN_mw'])
    assert snap.board.gpu_load_pct == pytest.approx(expected['gpu_load_pct'])
    assert snap.board.fan_pwm == expected['fan_pwm']
    assert snap.board.fan_rpm == expected['fan_rpm']
    assert snap.board.emc_util_pct == pytest.approx(expected['emc_util_pct'])
    assert len(snap.cpufreq_khz) == expected['cores']
    assert snap.power_mode_id == expected['mode']
    assert snap.missing == ()
    metrics = snap.metrics()
    assert metrics['rail.VDD_IN.voltage_mv'] == 4968
    assert metrics['power_mode_id'] == 2


def test_agx_orin_tree_sums_rails_and_skips_nc(tmp_path):
    expected = boards.agx_orin(tmp_path)
    snap = _monitor('agx_orin', tmp_path).sample()
    assert 'NC' not in snap.rails
    assert set(snap.rails) == {'VDD_GPU_SOC', 'VDD_CPU_CV', 'VIN_SYS_5V0', 'VDDQ_VDD2_1V8AO'}
    assert snap.total_power_mw == pytest.approx(expected['total_mw'])
    assert 'gpu' not in snap.temps_c  # gated GPU reads -256 C on JetPack 5
    assert snap.temps_c['tj'] == pytest.approx(expected['tj'])
    assert snap.temps_c['tboard'] == pytest.approx(36.0)
    assert len(snap.cpufreq_khz) == expected['cores']
    assert snap.power_mode_id == expected['mode']


def test_xavier_nx_tree_policy_zones_ignore_pmic(tmp_path):
    expected = boards.xavier_nx(tmp_path)
    monitor = _monitor('xavier_nx', tmp_path)
    snap = monitor.sample()
    assert snap.temps_c['pmic-die'] == 100.0  # reported, but never drives the policy
    thermal = monitor.layout.thermal
    assert snap.max_temp(thermal.policy_zones, thermal.ignore) == expected['hottest_policy']
    assert snap.max_temp()[1] == 100.0
    assert snap.total_power_mw == pytest.approx(expected['VDD_IN_mw'])
    assert snap.power_mode_id == expected['mode']


def test_jetson_nano_jp4_iio_rails(tmp_path):
    expected = boards.jetson_nano(tmp_path)
    snap = _monitor('jetson_nano', tmp_path).sample()
    assert snap.rails['POM_5V_IN'].power_mw == expected['POM_5V_IN_mw']
    assert snap.total_power_mw == expected['POM_5V_IN_mw']
    assert snap.temps_c['cpu'] == expected['cpu']
    assert snap.board.emc_util_pct == pytest.approx(expected['emc_util_pct'])
    assert snap.board.fan_pwm == 0
    assert snap.power_mode_id == expected['mode']


def test_ina238_rail_uses_microwatt_power_file(tmp_path):
    boards.write(tmp_path, {'/sys/class/hwmon/hwmon7/name': 'ina238',
                            '/sys/class/hwmon/hwmon7/in1_input': 19200,
                            '/sys/class/hwmon/hwmon7/curr1_input': 1500,
                            '/sys/class/hwmon/hwmon7/power1_input': 28800000})
    data = {'model': 'custom', 'thermal': {}, 'gpu': {}, 'fan': {}, 'nvpmodel': {},
            'rails': {'total': 'VIN', 'monitors': [
                {'driver': 'ina238', 'path': '/sys/class/hwmon/hwmon7', 'label': 'VIN'}]}}
    layout, _ = layout_from_dict(data)
    snap = BoardMonitor(layout, SysfsRoot(tmp_path), use_psutil=False, use_nvml=False).sample()
    assert snap.rails['VIN'].power_mw == pytest.approx(28800.0)
    assert snap.total_power_mw == pytest.approx(28800.0)


def test_missing_and_garbage_files_degrade_with_one_warning(tmp_path, caplog):
    boards.orin_nano(tmp_path)
    (tmp_path / 'sys/devices/platform/bus@0/17000000.gpu/load').write_text('garbage\n')
    (tmp_path / 'sys/class/thermal/thermal_zone0/temp').unlink()
    (tmp_path / 'sys/devices/platform/pwm-fan/hwmon/hwmon2/pwm1').unlink()
    monitor = _monitor('orin_nano', tmp_path)
    with caplog.at_level(logging.WARNING):
        snap = monitor.sample()
        monitor.sample()
    assert snap.board.gpu_load_pct is None
    assert snap.board.fan_pwm is None
    assert 'cpu' not in snap.temps_c and 'tj' in snap.temps_c
    assert set(snap.missing) == {'gpu load', 'fan'}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any('GPU load' in w and 'garbage' in w for w in warnings)
    assert any('fan PWM' in w for w in warnings)
    assert len(warnings) == len(set(warnings)), 'each problem is warned about once'


def test_unknown_layout_on_empty_tree_reports_nothing_but_does_not_crash(tmp_path, caplog):
    layout, problems = layout_from_dict({'model': 'mystery', 'frobnicate': 1})
    assert any('frobnicate' in p for p in problems)
    assert any("'thermal'" in p for p in problems)
    snap = BoardMonitor(layout, SysfsRoot(tmp_path), use_psutil=False, use_nvml=False).sample()
    assert snap.temps_c == {} and snap.rails == {} and snap.total_power_mw is None
    assert 'thermal zones' in snap.missing


def test_model_tree_for_one_board_read_with_another_layout_degrades(tmp_path, caplog):
    boards.jetson_nano(tmp_path)
    with caplog.at_level(logging.WARNING):
        snap = _monitor('orin_nano', tmp_path).sample()
    assert snap.temps_c['cpu'] == 37.5  # zones are generic
    assert snap.rails == {}  # the Orin's hwmon INA3221 is absent
    assert 'power rails' in snap.missing
    assert any('expected' in r.getMessage() for r in caplog.records)


def test_psutil_stats_are_real(tmp_path):
    layout, _ = layout_of('sim')
    monitor = BoardMonitor(layout, SysfsRoot(tmp_path), use_nvml=False,
                           suite_pattern='pytest')
    snap = monitor.sample()
    assert snap.system is not None
    assert snap.system.mem_total_bytes > 0
    assert 0.0 < snap.system.mem_used_fraction < 1.0
    assert snap.system.suite_rss_bytes and snap.system.suite_rss_bytes > 10_000_000
    assert len(snap.system.cpu_load_pct) >= 1
