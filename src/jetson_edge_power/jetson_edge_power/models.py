"""Hardware layouts and thermal thresholds of each supported Jetson model (profile data).

These dicts are what a profile's ``power.hardware`` section holds; they live here too so the
package works without a profile and so tests can lay out a tree per model.  Sources: NVIDIA's
Jetson Linux Developer Guide (power and performance chapters for Nano, TX2, Xavier and Orin),
the kernel's ina3221 hwmon documentation, and tegrastats output of each JetPack.  Paths are
written as on the board; several candidates are listed where JetPack releases moved a file.

Two facts worth knowing when editing:

* nvpmodel ids are per module *and* per JetPack.  The Orin Nano's 7W mode is id 1 up to
  JetPack 6.1 and id 3 from JetPack 6.2 (which added 25W and MAXN_SUPER), so ``orin_nano``
  (6.2+) and ``orin_nano_jp61`` exist separately (likewise ``orin_nx_jp61``); the nvpmodel actuator also checks the mode
  name ``nvpmodel -q`` reports against the layout and refuses to act on a mismatch.
* Zone names changed between JetPacks (``CPU-therm`` on JetPack 4/5, ``cpu-thermal`` on 6).
  Readers key zones by :func:`jetson_edge_power.readers.zone_key`, which maps both to ``cpu``.
  ``PMIC-Die`` reads a constant 100 C on Nano/TX2/Xavier and ``thermal-fan-est`` is an
  estimate, so the policy ignores both.  A zone reading -256 C is a powered-off sensor.
"""

from __future__ import annotations

import copy
from typing import Any

_ORIN_THERMAL: dict[str, Any] = {
    'zones_glob': '/sys/class/thermal/thermal_zone*',
    'ignore': ['pmic-die', 'thermal-fan-est'],
    'policy_zones': ['cpu', 'gpu', 'soc0', 'soc1', 'soc2', 'cv0', 'cv1', 'cv2', 'tj'],
    # T234: software throttling from 99 C, thermal shutdown (thermtrip on Tj) at 104.5 C.
    'sw_throttle_c': 99.0,
    'shutdown_c': 104.5,
}
_ORIN_GPU: dict[str, Any] = {
    'load': ['/sys/devices/platform/bus@0/17000000.gpu/load',
             '/sys/devices/platform/gpu.0/load', '/sys/devices/gpu.0/load'],
    'cur_freq': ['/sys/class/devfreq/17000000.gpu/cur_freq',
                 '/sys/class/devfreq/17000000.ga10b/cur_freq'],
    'max_freq': ['/sys/class/devfreq/17000000.gpu/max_freq',
                 '/sys/class/devfreq/17000000.ga10b/max_freq'],
}
_ORIN_EMC: dict[str, Any] = {
    'cur_freq': '/sys/kernel/debug/bpmp/debug/clk/emc/rate',
    'util': '/sys/kernel/debug/cactmon/mc_all',
}
_HWMON_FAN: dict[str, Any] = {
    'pwm': '/sys/devices/platform/pwm-fan/hwmon/hwmon*/pwm1',
    'rpm': ['/sys/devices/platform/generic_pwm_tachometer/hwmon/hwmon*/rpm',
            '/sys/devices/platform/tachometer/hwmon/hwmon*/rpm'],
    'pwm_max': 255,
}
_LEGACY_FAN: dict[str, Any] = {
    'pwm_read': '/sys/devices/pwm-fan/cur_pwm',
    'pwm_write': '/sys/devices/pwm-fan/target_pwm',
    'rpm': '/sys/devices/pwm-fan/rpm_measured',
    'pwm_max': 255,
}
_LEGACY_THERMAL_IGNORE = ['pmic-die', 'thermal-fan-est']

HARDWARE: dict[str, dict[str, Any]] = {
    'jetson_nano': {
        'model': 'jetson_nano',
        'description': 'Jetson Nano (T210), JetPack 4',
        'device_tree_model': 'NVIDIA Jetson Nano',
        'thermal': {'zones_glob': '/sys/class/thermal/thermal_zone*',
                    'ignore': _LEGACY_THERMAL_IGNORE,
                    'policy_zones': ['cpu', 'gpu', 'pll', 'ao'],
                    'sw_throttle_c': 97.0, 'shutdown_c': 102.0},
        'rails': {'total': 'POM_5V_IN', 'expected': ['POM_5V_IN', 'POM_5V_GPU', 'POM_5V_CPU'],
                  'monitors': [{'driver': 'ina3221x',
                                'path': '/sys/bus/i2c/drivers/ina3221x/6-0040/iio:device*'}]},
        'gpu': {'load': '/sys/devices/gpu.0/load',
                'cur_freq': '/sys/devices/gpu.0/devfreq/57000000.gpu/cur_freq',
                'max_freq': '/sys/devices/gpu.0/devfreq/57000000.gpu/max_freq'},
        'emc': {'cur_freq': '/sys/kernel/debug/clk/emc/clk_rate',
                'util': '/sys/kernel/actmon_avg_activity/mc_all'},
        'fan': _LEGACY_FAN,
        'nvpmodel': {'default': 0, 'ladder': [0, 1],
                     'modes': [{'id': 0, 'name': 'MAXN', 'watts': 10.0},
                               {'id': 1, 'name': '5W', 'watts': 5.0}]},
    },
    'jetson_tx2': {
        'model': 'jetson_tx2',
        'description': 'Jetson TX2 (T186), JetPack 4',
        'device_tree_model': 'quill',
        'thermal': {'zones_glob': '/sys/class/thermal/thermal_zone*',
                    'ignore': _LEGACY_THERMAL_IGNORE,
                    'policy_zones': ['bcpu', 'mcpu', 'gpu', 'pll', 'tdiode_tegra'],
                    'sw_throttle_c': 97.0, 'shutdown_c': 103.0},
        'rails': {'total': 'VDD_IN',
                  'expected': ['VDD_IN', 'VDD_SYS_CPU', 'VDD_SYS_GPU', 'VDD_SYS_SOC',
                               'VDD_SYS_DDR', 'VDD_4V0_WIFI'],
                  'monitors': [
                      {'driver': 'ina3221x',
                       'path': '/sys/bus/i2c/drivers/ina3221x/0-0040/iio:device*'},
                      {'driver': 'ina3221x',
                       'path': '/sys/bus/i2c/drivers/ina3221x/0-0041/iio:device*'}]},
        'gpu': {'load': '/sys/devices/gpu.0/load',
                'cur_freq': '/sys/devices/gpu.0/devfreq/17000000.gp10b/cur_freq',
                'max_freq': '/sys/devices/gpu.0/devfreq/17000000.gp10b/max_freq'},
        'emc': {'cur_freq': '/sys/kernel/debug/bpmp/debug/clk/emc/rate',
                'util': '/sys/kernel/actmon_avg_activity/mc_all'},
        'fan': _LEGACY_FAN,
        # MAXN has no cap; 15 W is the module's nominal maximum.  Ladder: MAXN ->
        # MAXP_CORE_ARM (4 A57 at 15 W) -> MAXQ (7.5 W).
        'nvpmodel': {'default': 3, 'ladder': [0, 3, 1],
                     'modes': [{'id': 0, 'name': 'MAXN', 'watts': 15.0},
                               {'id': 1, 'name': 'MAXQ', 'watts': 7.5},
                               {'id': 2, 'name': 'MAXP_CORE_ALL', 'watts': 15.0},
                               {'id': 3, 'name': 'MAXP_CORE_ARM', 'watts': 15.0},
                               {'id': 4, 'name': 'MAXP_CORE_DENVER', 'watts': 15.0}]},
    },
    'xavier_nx': {
        'model': 'xavier_nx',
        'description': 'Jetson Xavier NX (T194), JetPack 5 (JetPack 4 paths as fallbacks)',
        'device_tree_model': 'Jetson Xavier NX',
        'thermal': {'zones_glob': '/sys/class/thermal/thermal_zone*',
                    'ignore': _LEGACY_THERMAL_IGNORE,
                    'policy_zones': ['cpu', 'gpu', 'aux', 'ao', 'pll', 'tdiode_tegra'],
                    'sw_throttle_c': 96.0, 'shutdown_c': 102.0},
        'rails': {'total': 'VDD_IN', 'expected': ['VDD_IN', 'VDD_CPU_GPU_CV', 'VDD_SOC'],
                  'monitors': [
                      {'driver': 'ina3221',
                       'path': '/sys/bus/i2c/drivers/ina3221/7-0040/hwmon/hwmon*'},
                      {'driver': 'ina3221x',
                       'path': '/sys/bus/i2c/drivers/ina3221x/7-0040/iio:device*'}]},
        'gpu': {'load': '/sys/devices/gpu.0/load',
                'cur_freq': '/sys/class/devfreq/17000000.gv11b/cur_freq',
                'max_freq': '/sys/class/devfreq/17000000.gv11b/max_freq'},
        'emc': {'cur_freq': '/sys/kernel/debug/bpmp/debug/clk/emc/rate',
                'util': '/sys/kernel/actmon_avg_activity/mc_all'},
        'fan': {'pwm_read': [_HWMON_FAN['pwm'], _LEGACY_FAN['pwm_read']],
                'pwm_write': [_HWMON_FAN['pwm'], _LEGACY_FAN['pwm_write']],
                'rpm': ['/sys/devices/platform/generic_pwm_tachometer/hwmon/hwmon*/rpm',
                        _LEGACY_FAN['rpm']],
                'pwm_max': 255},
        'nvpmodel': {'default': 2, 'ladder': [8, 2, 4],
                     'modes': [{'id': 0, 'name': 'MODE_15W_2CORE', 'watts': 15.0},
                               {'id': 1, 'name': 'MODE_15W_4CORE', 'watts': 15.0},
                               {'id': 2, 'name': 'MODE_15W_6CORE', 'watts': 15.0},
                               {'id': 3, 'name': 'MODE_10W_2CORE', 'watts': 10.0},
                               {'id': 4, 'name': 'MODE_10W_4CORE', 'watts': 10.0},
                               {'id': 5, 'name': 'MODE_10W_DESKTOP', 'watts': 10.0},
                               {'id': 6, 'name': 'MODE_20W_2CORE', 'watts': 20.0},
                               {'id': 7, 'name': 'MODE_20W_4CORE', 'watts': 20.0},
                               {'id': 8, 'name': 'MODE_20W_6CORE', 'watts': 20.0}]},
    },
    'orin_nano': {
        'model': 'orin_nano',
        'description': 'Jetson Orin Nano 8GB (T234), JetPack 6.2+ (Super modes)',
        'device_tree_model': 'Orin Nano',
        'thermal': _ORIN_THERMAL,
        'rails': {'total': 'VDD_IN', 'expected': ['VDD_IN', 'VDD_CPU_GPU_CV', 'VDD_SOC'],
                  'monitors': [{'driver': 'ina3221',
                                'path': '/sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon*'}]},
        'gpu': _ORIN_GPU,
        'emc': _ORIN_EMC,
        'fan': _HWMON_FAN,
        'nvpmodel': {'default': 0, 'ladder': [2, 1, 0, 3],
                     'modes': [{'id': 0, 'name': '15W', 'watts': 15.0},
                               {'id': 1, 'name': '25W', 'watts': 25.0},
                               {'id': 2, 'name': 'MAXN_SUPER', 'watts': 25.0},
                               {'id': 3, 'name': '7W', 'watts': 7.0}]},
    },
    'orin_nx': {
        'model': 'orin_nx',
        'description': 'Jetson Orin NX 16GB (T234), JetPack 6.2+ (Super modes)',
        'device_tree_model': 'Orin NX',
        'thermal': _ORIN_THERMAL,
        'rails': {'total': 'VDD_IN', 'expected': ['VDD_IN', 'VDD_CPU_GPU_CV', 'VDD_SOC'],
                  'monitors': [{'driver': 'ina3221',
                                'path': '/sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon*'}]},
        'gpu': _ORIN_GPU,
        'emc': _ORIN_EMC,
        'fan': _HWMON_FAN,
        'nvpmodel': {'default': 2, 'ladder': [0, 4, 3, 2, 1],
                     'modes': [{'id': 0, 'name': 'MAXN_SUPER', 'watts': 40.0},
                               {'id': 1, 'name': '10W', 'watts': 10.0},
                               {'id': 2, 'name': '15W', 'watts': 15.0},
                               {'id': 3, 'name': '25W', 'watts': 25.0},
                               {'id': 4, 'name': '40W', 'watts': 40.0}]},
    },
    'agx_orin': {
        'model': 'agx_orin',
        'description': 'Jetson AGX Orin 64GB (T234), JetPack 5/6',
        'device_tree_model': 'AGX Orin',
        'thermal': _ORIN_THERMAL,
        # No VDD_IN channel on the AGX Orin module: the total is the sum of its rails.
        # Channels 1 and 3 of the second INA3221 are labelled NC (not connected).
        'rails': {'total': '',
                  'expected': ['VDD_GPU_SOC', 'VDD_CPU_CV', 'VIN_SYS_5V0', 'VDDQ_VDD2_1V8AO'],
                  'monitors': [
                      {'driver': 'ina3221',
                       'path': '/sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon*'},
                      {'driver': 'ina3221',
                       'path': '/sys/bus/i2c/drivers/ina3221/1-0041/hwmon/hwmon*'}]},
        'gpu': _ORIN_GPU,
        'emc': _ORIN_EMC,
        'fan': _HWMON_FAN,
        'nvpmodel': {'default': 2, 'ladder': [0, 3, 2, 1],
                     'modes': [{'id': 0, 'name': 'MAXN', 'watts': 60.0},
                               {'id': 1, 'name': 'MODE_15W', 'watts': 15.0},
                               {'id': 2, 'name': 'MODE_30W', 'watts': 30.0},
                               {'id': 3, 'name': 'MODE_50W', 'watts': 50.0}]},
    },
}

HARDWARE['orin_nano_jp61'] = copy.deepcopy(HARDWARE['orin_nano'])
HARDWARE['orin_nano_jp61'].update({
    'model': 'orin_nano_jp61',
    'description': 'Jetson Orin Nano 8GB (T234), JetPack 5.x to 6.1',
    'nvpmodel': {'default': 0, 'ladder': [0, 1],
                 'modes': [{'id': 0, 'name': '15W', 'watts': 15.0},
                           {'id': 1, 'name': '7W', 'watts': 7.0}]},
})
HARDWARE['orin_nx_jp61'] = copy.deepcopy(HARDWARE['orin_nx'])
HARDWARE['orin_nx_jp61'].update({
    'model': 'orin_nx_jp61',
    'description': 'Jetson Orin NX 16GB (T234), JetPack 5.x to 6.1',
    'nvpmodel': {'default': 2, 'ladder': [0, 3, 2, 1],
                 'modes': [{'id': 0, 'name': 'MAXN', 'watts': 40.0},
                           {'id': 1, 'name': '10W', 'watts': 10.0},
                           {'id': 2, 'name': '15W', 'watts': 15.0},
                           {'id': 3, 'name': '25W', 'watts': 25.0}]},
})
# The sim profile is an Orin Nano whose tree is written by the thermal model.
HARDWARE['sim'] = copy.deepcopy(HARDWARE['orin_nano'])
HARDWARE['sim'].update({'model': 'sim',
                        'description': 'Thermal model laid out as an Orin Nano (JetPack 6.2)'})

# Policy thresholds per model (deg C): warm/hot/critical sit well below the hardware's own
# software throttling point so the manager acts first; hysteresis and dwell stop flapping.
THRESHOLDS: dict[str, dict[str, float]] = {
    'jetson_nano': {'warm_c': 65.0, 'hot_c': 75.0, 'critical_c': 85.0},
    'jetson_tx2': {'warm_c': 65.0, 'hot_c': 75.0, 'critical_c': 87.0},
    'xavier_nx': {'warm_c': 68.0, 'hot_c': 78.0, 'critical_c': 88.0},
    'orin_nano': {'warm_c': 70.0, 'hot_c': 80.0, 'critical_c': 90.0},
    'orin_nano_jp61': {'warm_c': 70.0, 'hot_c': 80.0, 'critical_c': 90.0},
    'orin_nx_jp61': {'warm_c': 70.0, 'hot_c': 80.0, 'critical_c': 90.0},
    'orin_nx': {'warm_c': 70.0, 'hot_c': 80.0, 'critical_c': 90.0},
    'agx_orin': {'warm_c': 72.0, 'hot_c': 82.0, 'critical_c': 92.0},
    'sim': {'warm_c': 70.0, 'hot_c': 80.0, 'critical_c': 90.0},
}


def hardware(model: str) -> dict[str, Any]:
    """A deep copy of the layout dict of ``model`` (KeyError lists the known models)."""
    try:
        return copy.deepcopy(HARDWARE[model])
    except KeyError:
        raise KeyError(f'no hardware layout for {model!r}; known: {sorted(HARDWARE)}') from None
