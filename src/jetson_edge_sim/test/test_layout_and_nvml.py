"""Each profile's hardware section as a layout, the JetPack-release variants, layout files,
and NVML degrading cleanly off an NVIDIA GPU."""

import logging
import sys

import pytest

from jetson_edge_common.profiles import available_profiles
from jetson_edge_power.errors import LayoutError
from jetson_edge_power.hardware import layout_of, read_l4t_release
from jetson_edge_power.layout import layout_from_dict
from jetson_edge_power.nvml_reader import NvmlReader
from jetson_edge_sim.power.sim_loop import manager_values


def _release_root(tmp_path, *, tegra: str | None = None, dpkg: str | None = None):
    if tegra is not None:
        (tmp_path / 'etc').mkdir(parents=True, exist_ok=True)
        (tmp_path / 'etc/nv_tegra_release').write_text(tegra)
    if dpkg is not None:
        (tmp_path / 'var/lib/dpkg').mkdir(parents=True, exist_ok=True)
        (tmp_path / 'var/lib/dpkg/status').write_text(dpkg)
    return tmp_path


@pytest.mark.parametrize('profile', available_profiles())
def test_every_profile_layout_is_complete_and_below_its_throttling_point(profile):
    layout, problems = layout_of(profile)
    assert problems == []
    assert layout.power_modes and layout.default_mode is not None
    assert layout.mode(layout.default_mode) is not None
    ladder = layout.ladder()
    assert [m.watts for m in ladder] == sorted((m.watts for m in ladder), reverse=True)
    assert layout.thermal.policy_zones and layout.rail_monitors
    # the thresholds the node runs under this profile sit well below the SoC's own throttling
    values = manager_values(profile)
    assert values['warm_c'] < values['hot_c'] < values['critical_c']
    assert layout.thermal.sw_throttle_c > values['critical_c'] + 5


def test_release_is_read_from_nv_tegra_release_then_dpkg(tmp_path):
    assert read_l4t_release(tmp_path) is None
    dpkg = ('Package: nvidia-l4t-kernel\nVersion: 5.15.148-tegra-36.4.3\n\n'
            'Package: nvidia-l4t-core\nStatus: install ok installed\n'
            'Version: 36.3.0-20240506102626\n')
    assert read_l4t_release(_release_root(tmp_path, dpkg=dpkg)) == (36, 3, 0)
    _release_root(tmp_path, tegra='# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic\n')
    assert read_l4t_release(tmp_path) == (36, 4, 3)


def test_orin_nano_mode_ids_follow_the_detected_jetpack(tmp_path):
    new = layout_of('orin_nano', root=_release_root(
        tmp_path / 'jp62', tegra='# R36 (release), REVISION: 4.3, GCID: 1\n'))[0]
    old = layout_of('orin_nano', root=_release_root(
        tmp_path / 'jp61', tegra='# R36 (release), REVISION: 4.0, GCID: 1\n'))[0]
    assert new.mode(1).name == '25W' and old.mode(1).name == '7W'
    assert new.mode_by_name('7W').id == 3 and [m.id for m in old.ladder()] == [0, 1]
    jp5 = layout_of('orin_nx', root=_release_root(
        tmp_path / 'jp5', dpkg='Package: nvidia-l4t-core\nVersion: 35.5.0-20240219\n'))[0]
    assert jp5.mode(0).name == 'MAXN' and jp5.mode(4) is None


def test_unreadable_release_takes_the_profile_default_and_says_so(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger='jetson_edge_power.hardware'):
        layout, _ = layout_of('orin_nano', root=tmp_path)
    assert layout.mode(2).name == 'MAXN_SUPER'
    assert 'L4T release unreadable' in caplog.text


def test_a_layout_file_describes_a_custom_carrier_board(tmp_path):
    path = tmp_path / 'carrier.yaml'
    path.write_text('model: carrier_x\nthermal: {policy_zones: [tj]}\nfan: {}\n'
                    'rails: {monitors: []}\nnvpmodel:\n  default: 0\n  modes:\n'
                    '    - {id: 0, name: MAXN, watts: 30}\n')
    layout, _ = layout_of(str(path))
    assert layout.model == 'carrier_x' and layout.thermal.policy_zones == ('tj',)
    with pytest.raises(LayoutError, match='cannot read layout file'):
        layout_of(str(tmp_path / 'missing.yaml'))
    with pytest.raises(LayoutError, match='jetson_tk1'):
        layout_of('jetson_tk1')


@pytest.mark.parametrize('data, message', [
    ([], 'must be a mapping'),
    ({'nvpmodel': {'modes': [{'id': 'x', 'name': 'A', 'watts': 1}]}}, 'integer id'),
    ({'nvpmodel': {'modes': [{'id': 0, 'name': 'A', 'watts': 1},
                             {'id': 0, 'name': 'B', 'watts': 2}]}}, 'repeat'),
    ({'nvpmodel': {'modes': [{'id': 0, 'name': 'A', 'watts': 1}], 'ladder': [0, 5]}},
     'ladder names mode 5'),
])
def test_uninterpretable_layouts_raise_with_the_reason(data, message):
    with pytest.raises(LayoutError, match=message):
        layout_from_dict(data)


def test_bad_rail_monitor_and_default_are_worked_around():
    layout, problems = layout_from_dict({
        'model': 'x', 'thermal': {}, 'gpu_sysfs': {}, 'fan': {},
        'rails': {'monitors': [{'driver': 'ina999', 'path': '/x'}]},
        'nvpmodel': {'default': 9, 'modes': [{'id': 0, 'name': 'A', 'watts': 1}]}})
    assert layout.rail_monitors == () and layout.default_mode is None
    assert len(problems) == 2


def test_nvml_without_gpu_reports_why_and_reads_nothing():
    reader = NvmlReader()
    if reader.available:  # a host with a real NVIDIA GPU and driver
        gpus = reader.read()
        assert gpus and gpus[0].mem_total_bytes > 0
    else:
        assert reader.read() == []
        assert reader.reason
    reader.close()


def test_nvml_library_absent(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pynvml', None)
    reader = NvmlReader()
    assert not reader.available
    assert reader.reason == 'nvidia-ml-py is not installed'
