"""Node parameter values -> core configuration (pure, so the mapping is tested without ROS)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jetson_edge_power.errors import LayoutError
from jetson_edge_power.layout import Layout, layout_from_dict
from jetson_edge_power.models import hardware
from jetson_edge_power.policy import MemoryLevel, PolicyConfig, ThermalLevel

POLICY_KEYS = frozenset({
    'power_mode', 'mode_ladder', 'low_power_mode', 'warm_c', 'hot_c', 'critical_c',
    'hysteresis_c', 'min_dwell_s', 'step_up_dwell_s', 'fan_pwm_nominal', 'fan_pwm_warm',
    'fan_pwm_hot', 'fan_pwm_critical', 'perception_nominal_rate_hz', 'rate_scale_warm',
    'rate_scale_hot', 'rate_scale_critical', 'battery_low_pct', 'battery_recover_pct',
    'mem_warn_fraction', 'mem_error_fraction', 'suite_mem_warn_mb', 'suite_mem_error_mb'})


def load_layout(values: Mapping[str, Any]) -> tuple[Layout, list[str]]:
    """The layout named by ``hardware_model``, or read from ``layout_file`` when set."""
    path = values.get('layout_file') or ''
    if not path:
        return layout_from_dict(hardware(values['hardware_model']))
    import yaml
    try:
        data = yaml.safe_load(Path(path).read_text(encoding='utf-8'))
    except (OSError, yaml.YAMLError) as exc:
        raise LayoutError(f'cannot read layout_file {path}: {exc}') from exc
    return layout_from_dict(data)


def policy_config(values: Mapping[str, Any], layout: Layout) -> PolicyConfig:
    """Build the policy configuration; raises ValueError with the reason if inconsistent."""
    ladder = tuple(values.get('mode_ladder') or ()) or tuple(m.id for m in layout.ladder())
    for mode_id in ladder:
        if layout.mode(mode_id) is None:
            raise ValueError(f'mode_ladder names mode {mode_id}, which {layout.model} lacks '
                             f'(modes: {[m.id for m in layout.power_modes]})')
    preferred = values['power_mode']
    if preferred < 0:
        preferred = layout.default_mode if layout.default_mode is not None else (
            ladder[0] if ladder else None)
    low = values['low_power_mode']
    fan = {level: (None if values[key] < 0 else float(values[key])) for level, key in (
        (ThermalLevel.NOMINAL, 'fan_pwm_nominal'), (ThermalLevel.WARM, 'fan_pwm_warm'),
        (ThermalLevel.HOT, 'fan_pwm_hot'), (ThermalLevel.CRITICAL, 'fan_pwm_critical'))}
    config = PolicyConfig(
        warm_c=values['warm_c'], hot_c=values['hot_c'], critical_c=values['critical_c'],
        hysteresis_c=values['hysteresis_c'], min_dwell_s=values['min_dwell_s'],
        step_up_dwell_s=values['step_up_dwell_s'], ladder=ladder, preferred_mode=preferred,
        low_power_mode=None if low < 0 else low,
        battery_low_pct=values['battery_low_pct'],
        battery_recover_pct=values['battery_recover_pct'],
        mem_warn_fraction=values['mem_warn_fraction'],
        mem_error_fraction=values['mem_error_fraction'],
        suite_warn_bytes=values['suite_mem_warn_mb'] * 2**20 or None,
        suite_error_bytes=values['suite_mem_error_mb'] * 2**20 or None,
        mem_rate_scale={MemoryLevel.OK: 1.0, MemoryLevel.WARN: 0.75, MemoryLevel.ERROR: 0.5},
        fan_pwm=fan, nominal_rate_hz=values['perception_nominal_rate_hz'],
        rate_scale={ThermalLevel.NOMINAL: 1.0, ThermalLevel.WARM: values['rate_scale_warm'],
                    ThermalLevel.HOT: values['rate_scale_hot'],
                    ThermalLevel.CRITICAL: values['rate_scale_critical']})
    problems = config.problems()
    if problems:
        raise ValueError('; '.join(problems))
    return config
