"""System test: the power manager on the sim board, closed loop over DDS between processes.

``jetson-edge up`` starts the thermal model and the power manager (sim profile, model sped
up); a probe process stands in for perception (running at ``max_rate_hz`` times the
``load_level`` the manager asks for, publishing detections that heat the model) and for a battery, and reads ``/diagnostics``.
"""

import json
import subprocess
import sys

from system_helpers import HERE, ROOT


def _profile(tmp_path) -> str:
    root = tmp_path / 'sysfs'
    path = tmp_path / 'power_sim.yaml'
    path.write_text(f"""extends: {ROOT / 'config/profiles/sim.yaml'}
description: sim board heating fast
nodes:
  thermal_model:
    parameters: {{sysfs_root: {root}, time_scale: 20.0, initial_c: 62.0, cpu_load: 0.9}}
  power_manager:
    # the probe stands in for a 30 Hz perception, whose detections heat the model
    parameters: {{sysfs_root: {root}, sample_rate_hz: 5.0, action_retry_s: 1.0}}
""")
    return str(path)


def test_manager_heats_sheds_load_and_honours_battery(start_suite, tmp_path):
    suite = start_suite(_profile(tmp_path), only=['thermal_model', 'power_manager'])
    # --timeout bounds each of the probe's four waits (discovery, heating, the battery policy)
    done = subprocess.run([sys.executable, str(HERE / 'power_probe.py'), '--timeout', '120'],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert suite.alive(), suite.output()[-3000:]

    board = result['board']['values']
    for key in ('temp_c.tj', 'temp_c.gpu', 'rail.VDD_IN.power_mw', 'power_total_mw',
                'gpu_load_pct', 'fan_pwm', 'fan_rpm', 'cpu0.load_pct', 'mem_used_fraction',
                'power_mode_id'):
        assert key in board, key

    assert result['warm_95'] == {'successful': False, 'reason': result['warm_95']['reason']}
    assert 'thresholds must rise' in result['warm_95']['reason']

    loads = [level for _, level in result['load_sets']]
    # the stand-in idles until asked, so the board is cool at the manager's first request
    assert loads and loads[0] == 1.0, f'the manager asks for full load first: {loads}'
    assert min(loads) <= 0.5, f'HOT halves the load level: {result["load_sets"]}'

    heated = result['heated']['values']
    assert heated['level'] in ('HOT', 'CRITICAL')
    assert heated['power_mode_target'] != '2 (MAXN_SUPER)'
    assert result['heated']['level'] >= 1  # WARN at HOT, ERROR at CRITICAL

    low = result['battery_low']['values']
    assert low['battery_low'] == 'True' and float(low['battery_pct']) == 10.0
    assert low['power_mode_target'] == '3 (7W)', 'a low battery floors the mode at 7W'
    assert result['actuators']['values']['backend'] == 'sim'
    assert result['memory']['level'] == 0
