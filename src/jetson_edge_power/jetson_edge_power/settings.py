"""Node parameter values -> the core they configure (pure, so the mapping is tested without
ROS): the policy configuration, the manager with its monitor and actuators, and what a run-time
parameter set changes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from jetson_edge_power.actuation import actuators_for
from jetson_edge_power.hardware import layout_of
from jetson_edge_power.layout import Layout
from jetson_edge_power.manager import Actions, PowerManager
from jetson_edge_power.monitor import BoardMonitor
from jetson_edge_power.policy import PolicyConfig, ThermalLevel, ThermalPolicy
from jetson_edge_power.sysfs import SysfsRoot

POLICY_KEYS = frozenset({
    'power_mode', 'mode_ladder', 'low_power_mode', 'warm_c', 'hot_c', 'critical_c',
    'hysteresis_c', 'min_dwell_s', 'step_up_dwell_s', 'fan_pwm_nominal', 'fan_pwm_warm',
    'fan_pwm_hot', 'fan_pwm_critical', 'rate_scale_warm',
    'rate_scale_hot', 'rate_scale_critical', 'battery_low_pct', 'battery_recover_pct',
    'mem_warn_fraction', 'mem_error_fraction', 'suite_mem_warn_mb', 'suite_mem_error_mb'})


def layout_source(values: Mapping[str, Any], *,
                  logger: logging.Logger | None = None) -> str:
    """``layout_file`` when set, else the name of the profile the device tree under
    ``sysfs_root`` picks (``sim`` off a Jetson)."""
    if values['layout_file']:
        return values['layout_file']
    from jetson_edge_common.profiles import detect_profile
    name, why = detect_profile(root=values['sysfs_root'])
    (logger or logging.getLogger(__name__)).info(f'no layout_file: {why}')
    return name


def load_layout(values: Mapping[str, Any], *,
                logger: logging.Logger | None = None) -> tuple[Layout, list[str]]:
    """The board's layout from :func:`layout_source`, for the release under ``sysfs_root``."""
    return layout_of(layout_source(values, logger=logger), root=values['sysfs_root'],
                     logger=logger)


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
        fan_pwm=fan,
        rate_scale={ThermalLevel.NOMINAL: 1.0, ThermalLevel.WARM: values['rate_scale_warm'],
                    ThermalLevel.HOT: values['rate_scale_hot'],
                    ThermalLevel.CRITICAL: values['rate_scale_critical']})
    problems = config.problems()
    if problems:
        raise ValueError('; '.join(problems))
    return config


def manager_for(values: Mapping[str, Any], layout: Layout, *,
                layout_source: str) -> PowerManager:
    """The manager the node's parameter ``values`` describe on ``layout`` (read from
    ``layout_source``, which the sim's tools read too)."""
    root = SysfsRoot(values['sysfs_root'])
    actuators = actuators_for(values, layout, root, layout_source=layout_source)
    return PowerManager(
        BoardMonitor(layout, root, use_nvml=values['use_nvml'],
                     suite_pattern=values['suite_process_pattern']),
        ThermalPolicy(policy_config(values, layout)),
        nvpmodel=actuators.nvpmodel, fan=actuators.fan, clocks=actuators.clocks,
        asks_perception=bool(values['perception_node']),
        policy_enabled=values['policy_enabled'], retry_s=values['action_retry_s'],
        battery_timeout_s=values['battery_timeout_s'],
        sample_period_s=1.0 / values['sample_rate_hz'],
        stale_after_periods=values['stale_after_periods'])


def apply_parameter(manager: PowerManager, values: Mapping[str, Any], name: str) -> Actions:
    """Bring ``manager`` in line with a run-time set of ``name`` (already in ``values``, and
    accepted by :func:`policy_config`); returns the hardware actions that set makes due."""
    value = values[name]
    if name in POLICY_KEYS:
        manager.policy.reconfigure(policy_config(values, manager.monitor.layout))
        mode = manager.policy.config.preferred_mode
        if name == 'power_mode' and not manager.policy_enabled and mode is not None:
            return manager.request_power_mode(mode)
    elif name == 'policy_enabled':
        manager.policy_enabled = bool(value)
    elif name == 'jetson_clocks' and value != 'unchanged':
        return manager.request_clocks(value)
    return Actions()
