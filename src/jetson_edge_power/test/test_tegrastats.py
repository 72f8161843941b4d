"""tegrastats lines as printed by JetPack 4, 5, 6 and 7 on different modules."""

import pytest

from jetson_edge_power.errors import TegrastatsParseError
from jetson_edge_power.tegrastats import parse_tegrastats_line

NANO_JP4 = ('RAM 2448/3956MB (lfb 72x4MB) SWAP 0/1978MB (cached 0MB) IRAM 0/252kB(lfb 252kB) '
            'CPU [12%@1479,7%@1479,9%@1479,5%@1479] EMC_FREQ 3%@1600 GR3D_FREQ 0%@921 APE 25 '
            'PLL@35C CPU@37.5C PMIC@100C GPU@35.5C AO@43.5C thermal@36.5C '
            'POM_5V_IN 2149/2149 POM_5V_GPU 0/0 POM_5V_CPU 412/412')
TX2_JP4 = ('RAM 1591/7860MB (lfb 1292x4MB) SWAP 0/3930MB (cached 0MB) '
           'CPU [0%@345,off,off,0%@345,0%@345,0%@345] EMC_FREQ 0%@1866 GR3D_FREQ 0%@1300 '
           'APE 150 BCPU@38C MCPU@38C GPU@36C PLL@38C Tboard@33C Tdiode@35.25C PMIC@100C '
           'thermal@37.1C VDD_IN 1604/1604 VDD_CPU 152/152 VDD_GPU 152/152 VDD_SOC 380/380 '
           'VDD_WIFI 0/0 VDD_DDR 268/268')
AGX_XAVIER_JP4 = ('RAM 2085/15692MB (lfb 3148x4MB) SWAP 0/7846MB (cached 0MB) '
                  'CPU [1%@1190,0%@1190,0%@1190,0%@1190,off,off,off,off] EMC_FREQ 0% '
                  'GR3D_FREQ 0% AO@37C GPU@37.5C Tdiode@39.25C PMIC@100C AUX@36.5C CPU@38.5C '
                  'thermal@37.45C Tboard@37C GPU 0/0 CPU 465/465 SOC 1242/1242 CV 0/0 '
                  'VDDRQ 155/155 SYS5V 2760/2760')
AGX_ORIN_JP5 = ('RAM 2034/30536MB (lfb 6953x4MB) SWAP 0/15268MB (cached 0MB) '
                'CPU [0%@729,0%@729,1%@729,0%@729,off,off,off,off,off,off,off,off] '
                'EMC_FREQ 0%@2133 GR3D_FREQ 0%@[0,0] VIC_FREQ 729 APE 174 CV0@-256C '
                'CPU@46.25C SOC2@43.5C SOC0@44.25C CV1@-256C GPU@-256C tj@46.25C SOC1@43.75C '
                'CV2@-256C VDD_GPU_SOC 2400mW/2400mW VDD_CPU_CV 400mW/400mW '
                'VIN_SYS_5V0 2820mW/2820mW NC 0mW/0mW VDDQ_VDD2_1V8AO 503mW/503mW NC 0mW/0mW')
ORIN_NANO_JP6 = ('09-21-2025 15:38:17 RAM 3645/7620MB (lfb 63x4MB) SWAP 236/3810MB '
                 '(cached 0MB) CPU [1%@729,1%@729,4%@729,1%@729,0%@729,0%@729] '
                 'EMC_FREQ 0%@204 GR3D_FREQ 0%@[305] NVDEC off NVJPG off NVJPG1 off VIC off '
                 'OFA off APE 200 cpu@44.125C soc2@43.375C soc0@42.125C gpu@44.531C '
                 'tj@44.531C soc1@43.156C VDD_IN 2957mW/2957mW VDD_CPU_GPU_CV 486mW/486mW '
                 'VDD_SOC 1012mW/1012mW')
R39 = ('09-01-2026 09:25:18 RAM 5739/7546MB (lfb 1x2MB) SWAP 2047/2048MB (cached 209MB) '
       'CPU [72%@1728,75%@1728,88%@1728,79%@1728,87%@1728,78%@1728] GR3D_FREQ 33% '
       'cpu@50C/50C soc2@47.937C/47.937C soc0@48.437C/48.437C gpu@48.75C/48.75C tj@50C/50C '
       'soc1@48.5C/48.5C VDD_IN 9761mW/9761mW/9761mW VDD_CPU_GPU_CV 4238mW/4238mW/4238mW '
       'VDD_SOC 1825mW/1825mW/1825mW')
OLDEST = 'RAM 1050/3995MB (lfb 573x4MB) CPU [4%,3%,off,off]@1734 EMC 8%@1600 GR3D 0%@76'


def test_jetpack4_nano():
    s = parse_tegrastats_line(NANO_JP4)
    assert (s.ram_used_mb, s.ram_total_mb, s.swap_total_mb) == (2448, 3956, 1978)
    assert [c.load_pct for c in s.cpus] == [12, 7, 9, 5]
    assert s.cpus[0].freq_mhz == 1479
    assert (s.emc_util_pct, s.emc_freq_mhz) == (3, 1600)
    assert (s.gpu_util_pct, s.gpu_freq_mhz) == (0, (921,))
    assert s.temps_c['cpu'] == 37.5 and s.temps_c['ao'] == 43.5
    assert s.rails_mw == {'POM_5V_IN': 2149, 'POM_5V_GPU': 0, 'POM_5V_CPU': 412}
    assert 'IRAM' not in s.rails_mw and 'RAM' not in s.rails_mw


def test_jetpack4_tx2_offline_cores_and_six_rails():
    s = parse_tegrastats_line(TX2_JP4)
    assert [c.load_pct for c in s.cpus] == [0, None, None, 0, 0, 0]
    assert s.temps_c['bcpu'] == 38 and s.temps_c['tdiode'] == 35.25
    assert len(s.rails_mw) == 6 and s.rails_mw['VDD_IN'] == 1604


def test_jetpack4_agx_xavier_rails_without_vdd_prefix():
    s = parse_tegrastats_line(AGX_XAVIER_JP4)
    assert s.rails_mw['SYS5V'] == 2760 and s.rails_mw['CPU'] == 465
    assert s.emc_util_pct == 0 and s.emc_freq_mhz is None
    assert s.temps_c['cpu'] == 38.5  # the zone, not the rail named CPU
    assert sum(1 for c in s.cpus if c.load_pct is None) == 4


def test_jetpack5_agx_orin_units_gated_zones_two_gpcs():
    s = parse_tegrastats_line(AGX_ORIN_JP5)
    assert s.gpu_freq_mhz == (0, 0)
    assert 'gpu' not in s.temps_c and 'cv0' not in s.temps_c  # -256 C: sensor off
    assert s.temps_c['tj'] == 46.25 and s.temps_c['soc2'] == 43.5
    assert s.rails_mw['VDDQ_VDD2_1V8AO'] == 503 and s.rails_avg_mw['VDD_GPU_SOC'] == 2400
    assert len(s.cpus) == 12
    assert 'NC' not in s.rails_mw


def test_jetpack6_orin_nano_stamp_lowercase_zones_engines_off():
    s = parse_tegrastats_line(ORIN_NANO_JP6)
    assert s.stamp == '09-21-2025 15:38:17'
    assert s.temps_c['gpu'] == 44.531 and s.temps_c['tj'] == 44.531
    assert s.gpu_freq_mhz == (305,)
    assert s.rails_mw == {'VDD_IN': 2957, 'VDD_CPU_GPU_CV': 486, 'VDD_SOC': 1012}
    assert s.swap_used_mb == 236


def test_jetpack7_current_slash_max_forms():
    s = parse_tegrastats_line(R39)
    assert s.temps_c['cpu'] == 50 and s.temps_c['soc0'] == 48.437
    assert s.rails_mw['VDD_IN'] == 9761 and s.rails_avg_mw['VDD_SOC'] == 1825
    assert s.gpu_util_pct == 33 and s.gpu_freq_mhz == ()
    assert s.emc_util_pct is None


def test_oldest_shared_clock_form():
    s = parse_tegrastats_line(OLDEST)
    assert [(c.load_pct, c.freq_mhz) for c in s.cpus] == [(4, 1734), (3, 1734), (None, None),
                                                          (None, None)]


@pytest.mark.parametrize('line', ['', 'hello world', 'NVPM WARN: power mode is not set'])
def test_non_tegrastats_lines_raise(line):
    with pytest.raises(TegrastatsParseError, match='not a tegrastats line'):
        parse_tegrastats_line(line)


def test_live_source_reads_a_real_child_process(tmp_path):
    from jetson_edge_power.tegrastats import tegrastats_metrics
    from jetson_edge_power.tegrastats_source import TegrastatsSource
    import time
    script = tmp_path / 'tegrastats'
    script.write_text('#!/bin/sh\necho "NVPM WARN: not a stats line"\n'
                      f'while true; do echo "{ORIN_NANO_JP6}"; sleep 0.05; done\n')
    script.chmod(0o755)
    source = TegrastatsSource(command=(str(script),), interval_ms=50)
    try:
        deadline = time.monotonic() + 10
        while source.latest() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        sample = source.latest()
        assert sample is not None and sample.rails_mw['VDD_IN'] == 2957
        assert source.bad_lines == 1
        metrics = tegrastats_metrics(sample)
        assert metrics['tegrastats.temp_c.tj'] == 44.531
        assert metrics['tegrastats.cpu2.load_pct'] == 4
    finally:
        source.close()
    assert source.error.startswith(str(script))


def test_live_source_without_the_binary():
    from jetson_edge_power.errors import BinaryNotFoundError
    from jetson_edge_power.tegrastats_source import TegrastatsSource
    with pytest.raises(BinaryNotFoundError, match='nvidia-l4t-tools'):
        TegrastatsSource(command=('/nonexistent/tegrastats',))
