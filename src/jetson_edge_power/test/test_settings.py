"""Node parameter values -> layout and policy configuration (the schema's defaults included)."""

import pytest

from jetson_edge_power.hardware import layout_of
from jetson_edge_power.params import MANAGER_SPECS, MODEL_SPECS
from jetson_edge_power.policy import ThermalLevel
from jetson_edge_power.settings import POLICY_KEYS, load_layout, policy_config

DEFAULTS = {s.name: s.default for s in MANAGER_SPECS}


def test_defaults_off_a_jetson_build_the_sim_configuration(tmp_path):
    # no layout_file and no device tree under sysfs_root: the sim profile's layout
    layout, problems = load_layout({**DEFAULTS, 'sysfs_root': str(tmp_path)})
    assert layout.model == 'sim' and problems == []
    config = policy_config(DEFAULTS, layout)
    assert config.ladder == (2, 1, 0, 3)
    assert config.preferred_mode == 0  # power_mode -1: the layout's default mode (15W)
    assert config.low_power_mode is None
    assert config.fan_pwm[ThermalLevel.NOMINAL] is None and config.fan_pwm[ThermalLevel.HOT] == 255
    assert config.rate_scale[ThermalLevel.WARM] == 0.75


def test_explicit_mode_ladder_and_fan():
    values = {**DEFAULTS, 'mode_ladder': [3, 1],
              'power_mode': 3, 'low_power_mode': 1, 'fan_pwm_nominal': 60,
              'suite_mem_warn_mb': 1024, 'suite_mem_error_mb': 2048}
    layout, _ = layout_of('agx_orin')
    config = policy_config(values, layout)
    assert config.ladder == (3, 1) and config.preferred_mode == 3 and config.low_power_mode == 1
    assert config.fan_pwm[ThermalLevel.NOMINAL] == 60
    assert (config.suite_warn_bytes, config.suite_error_bytes) == (1 << 30, 2 << 30)
    assert policy_config(DEFAULTS, layout).suite_warn_bytes is None  # 0 MB: off


@pytest.mark.parametrize('change, message', [
    ({'warm_c': 85.0}, 'thresholds must rise'),
    ({'mode_ladder': [0, 9]}, 'lacks'),
    ({'power_mode': 7}, 'not on the ladder'),
])
def test_inconsistent_values_are_refused_with_the_reason(change, message):
    layout, _ = layout_of('sim')
    with pytest.raises(ValueError, match=message):
        policy_config({**DEFAULTS, **change}, layout)


def test_layout_file_overrides_the_model(tmp_path):
    path = tmp_path / 'board.yaml'
    path.write_text('model: carrier_x\nthermal: {policy_zones: [tj]}\ngpu_sysfs: {}\nfan: {}\n'
                    'rails: {monitors: []}\nnvpmodel:\n  default: 0\n  modes:\n'
                    '    - {id: 0, name: MAXN, watts: 30}\n')
    layout, _ = load_layout({**DEFAULTS, 'layout_file': str(path)})
    assert layout.model == 'carrier_x' and layout.thermal.policy_zones == ('tj',)


def test_every_policy_key_is_a_declared_dynamic_parameter():
    by_name = {s.name: s for s in MANAGER_SPECS}
    assert POLICY_KEYS <= set(by_name)
    assert all(by_name[k].dynamic for k in POLICY_KEYS)


def test_both_nodes_take_their_layout_from_a_layout_file_and_name_no_model():
    for specs in (MANAGER_SPECS, MODEL_SPECS):
        names = {s.name for s in specs}
        assert 'layout_file' in names and 'hardware_model' not in names


class _RclpyLikeLogger:
    """rclpy's RcutilsLogger takes one message and no %-arguments."""

    def __init__(self):
        self.lines = []

    def info(self, message):
        self.lines.append(message)

    warning = info


def test_a_variant_profile_logs_through_a_logger_without_arguments(tmp_path):
    # the thermal model node hands its rclpy logger over: orin_nano has JetPack variants
    logger = _RclpyLikeLogger()
    layout, _ = load_layout({**DEFAULTS, 'layout_file': 'orin_nano', 'sysfs_root': str(tmp_path)},
                            logger=logger)
    assert layout.model and any('L4T release unreadable' in line for line in logger.lines)
