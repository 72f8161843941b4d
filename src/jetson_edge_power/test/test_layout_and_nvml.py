"""Layout data per model, layout validation, and NVML degrading cleanly off an NVIDIA GPU."""

import sys

import pytest

from jetson_edge_power.errors import LayoutError
from jetson_edge_power.layout import layout_from_dict
from jetson_edge_power.models import HARDWARE, THRESHOLDS, hardware
from jetson_edge_power.nvml_reader import NvmlReader


@pytest.mark.parametrize('model', sorted(HARDWARE))
def test_every_model_layout_is_complete_and_consistent(model):
    layout, problems = layout_from_dict(hardware(model))
    assert problems == []
    assert layout.power_modes and layout.default_mode is not None
    assert layout.mode(layout.default_mode) is not None
    ladder = layout.ladder()
    assert [m.watts for m in ladder] == sorted((m.watts for m in ladder), reverse=True)
    assert layout.thermal.policy_zones and layout.rail_monitors
    assert layout.thermal.sw_throttle_c > THRESHOLDS[model]['critical_c'] + 5
    t = THRESHOLDS[model]
    assert t['warm_c'] < t['hot_c'] < t['critical_c']


def test_orin_nano_mode_ids_differ_between_jetpack_releases():
    new = layout_from_dict(hardware('orin_nano'))[0]
    old = layout_from_dict(hardware('orin_nano_jp61'))[0]
    assert new.mode(1).name == '25W' and old.mode(1).name == '7W'
    assert new.mode_by_name('7W').id == 3


def test_hardware_returns_a_copy_and_names_known_models():
    hardware('sim')['model'] = 'changed'
    assert hardware('sim')['model'] == 'sim'
    with pytest.raises(KeyError, match='known'):
        hardware('jetson_tk1')


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
        'model': 'x', 'thermal': {}, 'gpu': {}, 'fan': {},
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
