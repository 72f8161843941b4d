"""What the power manager reports on ``/diagnostics``: one :class:`Status` per concern, from the
manager's last tick (pure; the node publishes them)."""

from __future__ import annotations

import time

from jetson_edge_common.diagnostics import Level, Status

from jetson_edge_power.layout import Layout
from jetson_edge_power.manager import PowerManager
from jetson_edge_power.policy import MemoryLevel, ThermalLevel
from jetson_edge_power.tegrastats import tegrastats_metrics
from jetson_edge_power.tegrastats_source import TegrastatsSource

_THERMAL_STATUS = {ThermalLevel.NOMINAL: Level.OK, ThermalLevel.WARM: Level.OK,
                   ThermalLevel.HOT: Level.WARN, ThermalLevel.CRITICAL: Level.ERROR}
_MEMORY_STATUS = {MemoryLevel.OK: Level.OK, MemoryLevel.WARN: Level.WARN,
                  MemoryLevel.ERROR: Level.ERROR}


def policy_status(manager: PowerManager, layout: Layout, *, now: float | None = None) -> Status:
    last = manager.last
    if last is None:
        return Status(Level.STALE, 'no sample yet')
    now = time.monotonic() if now is None else now
    d = last.decision
    mode = layout.mode(d.power_mode) if d.power_mode is not None else None
    stale = manager.readings_stale(now)
    return Status(Level.ERROR if stale else _THERMAL_STATUS[d.level],
                  stale or f'{d.level.name.lower()}: {d.reason}', {
        'level': d.level.name, 'policy_enabled': manager.policy_enabled,
        'power_mode_target': f'{d.power_mode} ({mode.name})' if mode else 'none',
        'fan_pwm_target': 'board control' if d.fan_pwm is None else d.fan_pwm,
        'perception_load': d.perception_load, 'battery_low': d.battery_low,
        'battery_pct': manager.battery_pct if manager.battery_pct is not None else 'unknown',
        'last_decision_reason': d.reason,
        'last_decision_age_s': round(now - last.snapshot.stamp, 3)})


def board_status(manager: PowerManager, tegrastats: TegrastatsSource | None) -> Status:
    last = manager.last
    if last is None:
        return Status(Level.STALE, 'no sample yet')
    values = {k: round(v, 3) for k, v in last.snapshot.metrics().items()}
    if tegrastats is not None:
        sample = tegrastats.latest()
        if sample is not None:
            values.update({k: round(v, 3) for k, v in tegrastats_metrics(sample).items()})
        elif tegrastats.error:
            values['tegrastats'] = tegrastats.error
    if last.snapshot.missing:
        return Status(Level.WARN, 'not readable: ' + ', '.join(last.snapshot.missing), values)
    return Status(Level.OK, f'{len(values)} metrics', values)


def memory_status(manager: PowerManager) -> Status:
    last = manager.last
    if last is None or last.snapshot.system is None:
        return Status(Level.STALE, 'no sample yet')
    sysstats, level = last.snapshot.system, last.decision.memory
    return Status(_MEMORY_STATUS[level], f'{sysstats.mem_used_fraction:.0%} in use'
                  + ('' if level == MemoryLevel.OK else ', perception asked to shed load'),
                  {'used_fraction': round(sysstats.mem_used_fraction, 4),
                   'swap_used_bytes': sysstats.swap_used_bytes,
                   'suite_rss_bytes': sysstats.suite_rss_bytes
                   if sysstats.suite_rss_bytes is not None else 'off',
                   'suite_processes': sysstats.suite_processes
                   if sysstats.suite_processes is not None else 'off'})


def actuator_status(manager: PowerManager, *, backend: str) -> Status:
    errors = manager.errors()
    if errors:
        # Failing to set the mode or the fan leaves the board unprotected (ERROR); an absent
        # perception node only means there is no load to shed, a failed jetson_clocks switch
        # only that the clocks are not where the user asked (WARN).
        hardware_failed = set(errors) - {'perception_load', 'jetson_clocks'}
        level = Level.ERROR if hardware_failed and manager.policy_enabled else Level.WARN
        return Status(level, '; '.join(errors.values()), {'backend': backend, **errors})
    return Status(Level.OK, f'{backend} backend, no failed action', {'backend': backend})
