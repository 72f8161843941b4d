"""Sysfs trees laid out as on real boards, per NVIDIA's Jetson Linux documentation.

Each builder writes the files a board exposes (with plausible idle values) under ``root``
and returns the values it wrote, so tests compare readings against what was laid out.
"""

from __future__ import annotations

from pathlib import Path


def write(root: Path, files: dict[str, str | int]) -> None:
    for rel, value in files.items():
        path = root / rel.lstrip('/')
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'{value}\n', encoding='ascii')


def _zones(types_and_millic: list[tuple[str, int]]) -> dict[str, str | int]:
    files: dict[str, str | int] = {}
    for idx, (ztype, milli) in enumerate(types_and_millic):
        files[f'/sys/class/thermal/thermal_zone{idx}/type'] = ztype
        files[f'/sys/class/thermal/thermal_zone{idx}/temp'] = milli
    return files


def _hwmon_ina3221(directory: str, channels: list[tuple[str, int, int]]) -> dict[str, str | int]:
    files: dict[str, str | int] = {f'{directory}/name': 'ina3221'}
    for idx, (label, mv, ma) in enumerate(channels, start=1):
        files[f'{directory}/in{idx}_label'] = label
        files[f'{directory}/in{idx}_input'] = mv
        files[f'{directory}/curr{idx}_input'] = ma
        files[f'{directory}/in{idx + 3}_input'] = ma * 5  # shunt voltage, uV
        files[f'{directory}/curr{idx}_crit'] = 32760
    files[f'{directory}/in7_label'] = 'sum of shunt voltages'
    files[f'{directory}/in7_input'] = 1234
    return files


def orin_nano(root: Path) -> dict[str, object]:
    """Orin Nano devkit, JetPack 6.2: lower-case zones, CV zones gated (-256 C)."""
    files = _zones([('cpu-thermal', 47500), ('gpu-thermal', 46937), ('cv0-thermal', -256000),
                    ('cv1-thermal', -256000), ('cv2-thermal', -256000),
                    ('soc0-thermal', 46875), ('soc1-thermal', 46718), ('soc2-thermal', 46093),
                    ('tj-thermal', 47500)])
    files.update(_hwmon_ina3221('/sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1',
                                [('VDD_IN', 4968, 1520), ('VDD_CPU_GPU_CV', 4960, 1784),
                                 ('VDD_SOC', 4960, 496)]))
    files.update({
        '/sys/devices/platform/bus@0/17000000.gpu/load': 312,
        '/sys/class/devfreq/17000000.gpu/cur_freq': 1020000000,
        '/sys/class/devfreq/17000000.gpu/max_freq': 1020000000,
        '/sys/class/devfreq/17000000.gpu/min_freq': 306000000,
        '/sys/devices/platform/pwm-fan/hwmon/hwmon2/pwm1': 77,
        '/sys/devices/platform/generic_pwm_tachometer/hwmon/hwmon3/rpm': 1580,
        '/sys/kernel/debug/bpmp/debug/clk/emc/rate': 3199000000,
        '/sys/kernel/debug/cactmon/mc_all': 319900,
        '/var/lib/nvpmodel/status': 'pmode:0002 fmode:quiet',
    })
    for core in range(6):
        files[f'/sys/devices/system/cpu/cpu{core}/cpufreq/scaling_cur_freq'] = 1728000
    write(root, files)
    return {'tj': 47.5, 'cpu': 47.5, 'gpu': 46.937, 'VDD_IN_mw': 4968 * 1520 / 1000,
            'gpu_load_pct': 31.2, 'fan_pwm': 77, 'fan_rpm': 1580, 'mode': 2, 'cores': 6,
            'emc_util_pct': 10.0}


def agx_orin(root: Path) -> dict[str, object]:
    """AGX Orin 64GB devkit, JetPack 5: ``*-therm`` zones, two INA3221 with NC channels."""
    files = _zones([('CPU-therm', 46250), ('GPU-therm', -256000), ('CV0-therm', -256000),
                    ('CV1-therm', -256000), ('CV2-therm', -256000), ('SOC0-therm', 44250),
                    ('SOC1-therm', 43750), ('SOC2-therm', 43500), ('Tj-therm', 46250),
                    ('Tboard-therm', 36000)])
    files.update(_hwmon_ina3221('/sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3',
                                [('VDD_GPU_SOC', 19976, 120), ('VDD_CPU_CV', 19976, 20),
                                 ('VIN_SYS_5V0', 5024, 561)]))
    files.update(_hwmon_ina3221('/sys/bus/i2c/drivers/ina3221/1-0041/hwmon/hwmon4',
                                [('NC', 0, 0), ('VDDQ_VDD2_1V8AO', 5008, 100), ('NC', 0, 0)]))
    files.update({
        '/sys/devices/platform/gpu.0/load': 0,
        '/sys/class/devfreq/17000000.ga10b/cur_freq': 306000000,
        '/sys/class/devfreq/17000000.ga10b/max_freq': 1300500000,
        '/sys/devices/platform/pwm-fan/hwmon/hwmon0/pwm1': 0,
        '/sys/devices/platform/generic_pwm_tachometer/hwmon/hwmon1/rpm': 0,
        '/var/lib/nvpmodel/status': 'pmode:0000 fmode:quiet',
    })
    for core in range(12):
        files[f'/sys/devices/system/cpu/cpu{core}/cpufreq/scaling_cur_freq'] = 2201600
    write(root, files)
    rails_mw = (19976 * 120 + 19976 * 20 + 5024 * 561 + 5008 * 100) / 1000
    return {'tj': 46.25, 'total_mw': rails_mw, 'mode': 0, 'cores': 12}


def xavier_nx(root: Path) -> dict[str, object]:
    """Xavier NX devkit, JetPack 5: PMIC-Die at a constant 100 C, hwmon INA3221 on bus 7."""
    files = _zones([('AO-therm', 34500), ('CPU-therm', 36000), ('GPU-therm', 35000),
                    ('PLL-therm', 34000), ('AUX-therm', 34000), ('Tboard_tegra', 32000),
                    ('Tdiode_tegra', 35250), ('PMIC-Die', 100000),
                    ('thermal-fan-est', 35050)])
    files.update(_hwmon_ina3221('/sys/bus/i2c/drivers/ina3221/7-0040/hwmon/hwmon5',
                                [('VDD_IN', 5032, 728), ('VDD_CPU_GPU_CV', 5024, 89),
                                 ('VDD_SOC', 5024, 227)]))
    files.update({
        '/sys/devices/gpu.0/load': 0,
        '/sys/class/devfreq/17000000.gv11b/cur_freq': 114750000,
        '/sys/devices/platform/pwm-fan/hwmon/hwmon2/pwm1': 120,
        '/sys/devices/platform/generic_pwm_tachometer/hwmon/hwmon1/rpm': 2100,
        '/var/lib/nvpmodel/status': 'pmode:0008 fmode:quiet',
    })
    for core in range(6):
        files[f'/sys/devices/system/cpu/cpu{core}/cpufreq/scaling_cur_freq'] = 1190400
    write(root, files)
    return {'hottest_policy': ('cpu', 36.0), 'VDD_IN_mw': 5032 * 728 / 1000, 'mode': 8}


def jetson_nano(root: Path) -> dict[str, object]:
    """Jetson Nano devkit, JetPack 4: IIO ina3221x with rail_name_N and in_powerN_input."""
    files = _zones([('AO-therm', 43500), ('CPU-therm', 37500), ('GPU-therm', 35500),
                    ('PLL-therm', 35000), ('PMIC-Die', 100000), ('thermal-fan-est', 36500)])
    iio = '/sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0'
    for idx, (name, mv, ma, mw) in enumerate([('POM_5V_IN', 5072, 423, 2149),
                                              ('POM_5V_GPU', 5064, 0, 0),
                                              ('POM_5V_CPU', 5064, 81, 412)]):
        files[f'{iio}/rail_name_{idx}'] = name
        files[f'{iio}/in_voltage{idx}_input'] = mv
        files[f'{iio}/in_current{idx}_input'] = ma
        files[f'{iio}/in_power{idx}_input'] = mw
    files.update({
        '/sys/devices/gpu.0/load': 0,
        '/sys/devices/gpu.0/devfreq/57000000.gpu/cur_freq': 76800000,
        '/sys/devices/pwm-fan/cur_pwm': 0,
        '/sys/devices/pwm-fan/target_pwm': 0,
        '/sys/devices/pwm-fan/rpm_measured': 0,
        '/sys/kernel/debug/clk/emc/clk_rate': 1600000000,
        '/sys/kernel/actmon_avg_activity/mc_all': 48000,
        '/var/lib/nvpmodel/status': 'pmode:0000',
    })
    for core in range(4):
        files[f'/sys/devices/system/cpu/cpu{core}/cpufreq/scaling_cur_freq'] = 1479000
    write(root, files)
    return {'POM_5V_IN_mw': 2149.0, 'mode': 0, 'cpu': 37.5, 'emc_util_pct': 3.0}
