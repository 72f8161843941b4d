"""Thermal and power policy: readings in, a decision with its reason out (pure, no I/O).

States are NOMINAL < WARM < HOT < CRITICAL.  A level is entered when the hottest policy zone
reaches its threshold and left only once the temperature falls ``hysteresis_c`` below it.
Every change the policy makes (a level change or a power-mode step) starts a dwell of
``min_dwell_s`` during which nothing else changes, so noise can never cause more than one
transition per dwell period.  The dwell also bounds the reaction time, which is why the
thresholds sit well below the hardware's own throttling point (tens of seconds of thermal
time constant against a few seconds of dwell).

Actions per level: the fan PWM and the load level asked of perception follow the level directly; the power
mode steps along the layout's ladder: one step down on each entry into HOT (so a mode that
heats back up is not returned to), one more each dwell period that it stays at or above the
HOT threshold, straight to the bottom on CRITICAL, and one step back up after each
``step_up_dwell_s`` (longer than the dwell: stepping up re-heats) spent NOMINAL.  A battery below ``battery_low_pct``
floors the mode at ``low_power_mode`` until it recovers above ``battery_recover_pct``.
Memory pressure raises WARN/ERROR and lowers the load level further.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import IntEnum


class ThermalLevel(IntEnum):
    NOMINAL = 0
    WARM = 1
    HOT = 2
    CRITICAL = 3


class MemoryLevel(IntEnum):
    OK = 0
    WARN = 1
    ERROR = 2


@dataclass(frozen=True)
class PolicyConfig:
    """Thresholds and actions. The fields without a default are node parameters: their
    defaults live in the schema (``params.py``) and :func:`jetson_edge_power.settings.policy_config`
    builds this from parameter values, for the node and the tests alike."""

    warm_c: float
    hot_c: float
    critical_c: float
    hysteresis_c: float
    min_dwell_s: float
    step_up_dwell_s: float
    ladder: tuple[int, ...]
    preferred_mode: int | None
    low_power_mode: int | None
    battery_low_pct: float
    battery_recover_pct: float
    mem_warn_fraction: float
    mem_error_fraction: float
    suite_warn_bytes: int | None
    suite_error_bytes: int | None
    fan_pwm: dict[ThermalLevel, float | None]
    rate_scale: dict[ThermalLevel, float | None]   # load level asked of perception per level
    battery_rate_scale: float = 0.5
    mem_hysteresis_fraction: float = 0.02
    mem_rate_scale: dict[MemoryLevel, float] = field(default_factory=lambda: {
        MemoryLevel.OK: 1.0, MemoryLevel.WARN: 0.75, MemoryLevel.ERROR: 0.5})

    def problems(self) -> list[str]:
        """What is wrong with this configuration, as messages a user can act on."""
        out = []
        if not self.warm_c < self.hot_c < self.critical_c:
            out.append(f'thresholds must rise: warm {self.warm_c} < hot {self.hot_c} < '
                       f'critical {self.critical_c}')
        if self.hysteresis_c <= 0:
            out.append(f'hysteresis_c must be > 0 (got {self.hysteresis_c}), else noise flaps')
        if self.hysteresis_c >= self.hot_c - self.warm_c:
            out.append(f'hysteresis_c {self.hysteresis_c} must be below the gap between '
                       f'levels ({self.hot_c - self.warm_c})')
        if self.min_dwell_s < 0:
            out.append(f'min_dwell_s must be >= 0 (got {self.min_dwell_s})')
        if self.step_up_dwell_s < self.min_dwell_s:
            out.append(f'step_up_dwell_s {self.step_up_dwell_s} must be >= min_dwell_s '
                       f'{self.min_dwell_s}')
        if self.battery_recover_pct < self.battery_low_pct:
            out.append(f'battery_recover_pct {self.battery_recover_pct} must be >= '
                       f'battery_low_pct {self.battery_low_pct}')
        if (self.suite_warn_bytes and self.suite_error_bytes
                and self.suite_warn_bytes >= self.suite_error_bytes):
            out.append(f'suite memory warn {self.suite_warn_bytes} B must be below error '
                       f'{self.suite_error_bytes} B')
        if not 0 < self.mem_warn_fraction < self.mem_error_fraction <= 1:
            out.append(f'memory fractions must satisfy 0 < warn {self.mem_warn_fraction} < '
                       f'error {self.mem_error_fraction} <= 1')
        for mode in (self.preferred_mode, self.low_power_mode):
            if mode is not None and self.ladder and mode not in self.ladder:
                out.append(f'power mode {mode} is not on the ladder {list(self.ladder)}')
        return out


@dataclass(frozen=True)
class PolicyInputs:
    now: float
    max_temp_c: float | None
    hottest_zone: str = ''
    mem_used_fraction: float | None = None
    battery_pct: float | None = None
    suite_rss_bytes: int | None = None


@dataclass(frozen=True)
class Decision:
    stamp: float
    level: ThermalLevel
    memory: MemoryLevel
    battery_low: bool
    power_mode: int | None
    fan_pwm: float | None
    perception_load: float   # load level asked of perception: a share of its own max rate
    transition: bool
    changed: bool
    reason: str


class ThermalPolicy:
    """Stateful policy; :meth:`update` is the only place state changes."""

    def __init__(self, config: PolicyConfig) -> None:
        problems = config.problems()
        if problems:
            raise ValueError('invalid policy configuration: ' + '; '.join(problems))
        self._config = config
        self.level = ThermalLevel.NOMINAL
        self.memory = MemoryLevel.OK
        self._system_memory = MemoryLevel.OK
        self._suite_memory = MemoryLevel.OK
        self.battery_low = False
        self._offset = 0
        self._last_change = float('-inf')
        self.last_decision: Decision | None = None

    @property
    def config(self) -> PolicyConfig:
        return self._config

    def reconfigure(self, config: PolicyConfig) -> None:
        """Swap thresholds/actions at run time; level and dwell clock are kept."""
        problems = config.problems()
        if problems:
            raise ValueError('invalid policy configuration: ' + '; '.join(problems))
        self._config = config
        self._offset = min(self._offset, self._max_offset())

    def update(self, inputs: PolicyInputs) -> Decision:
        cfg = self._config
        reasons: list[str] = []
        transition = False
        temp = inputs.max_temp_c
        dwell_left = cfg.min_dwell_s - (inputs.now - self._last_change)
        if temp is None:
            reasons.append(f'no temperature reading; holding {self.level.name.lower()}')
        else:
            where = f'{inputs.hottest_zone} {temp:.1f}C' if inputs.hottest_zone else \
                f'{temp:.1f}C'
            target = self._target_level(temp)
            if target != self.level and dwell_left > 0:
                reasons.append(f'{where} points to {target.name.lower()}; holding '
                               f'{self.level.name.lower()} for dwell ({dwell_left:.1f}s left)')
            elif target != self.level:
                reasons.append(self._describe_crossing(where, temp, target))
                self._enter(target)
                transition = True
            elif dwell_left <= 0 and self._step(temp, where, reasons,
                                                inputs.now - self._last_change):
                transition = True
            else:
                reasons.append(f'{where}: {self.level.name.lower()}')
        if transition:
            self._last_change = inputs.now

        self._update_battery(inputs.battery_pct, reasons)
        self._update_memory(inputs.mem_used_fraction, inputs.suite_rss_bytes, reasons)
        decision = self._decide(inputs.now, transition, reasons)
        self.last_decision = decision
        return decision

    def _threshold(self, level: ThermalLevel) -> float:
        cfg = self._config
        return {ThermalLevel.WARM: cfg.warm_c, ThermalLevel.HOT: cfg.hot_c,
                ThermalLevel.CRITICAL: cfg.critical_c}.get(level, float('-inf'))

    def _level_for(self, temp: float) -> ThermalLevel:
        level = ThermalLevel.NOMINAL
        for candidate in (ThermalLevel.WARM, ThermalLevel.HOT, ThermalLevel.CRITICAL):
            if temp >= self._threshold(candidate):
                level = candidate
        return level

    def _target_level(self, temp: float) -> ThermalLevel:
        up = self._level_for(temp)
        if up > self.level:
            return up
        # Going down needs the temperature a full hysteresis below the level's threshold.
        down = self._level_for(temp + self._config.hysteresis_c)
        return down if down < self.level else self.level

    def _describe_crossing(self, where: str, temp: float, target: ThermalLevel) -> str:
        if target > self.level:
            return (f'{where} >= {target.name.lower()} {self._threshold(target):.0f}C: '
                    f'{self.level.name.lower()} -> {target.name.lower()}')
        limit = self._threshold(self.level) - self._config.hysteresis_c
        return (f'{where} < {limit:.0f}C ({self.level.name.lower()} threshold minus '
                f'hysteresis): {self.level.name.lower()} -> {target.name.lower()}')

    def _enter(self, target: ThermalLevel) -> None:
        if target == ThermalLevel.CRITICAL:
            self._offset = self._max_offset()
        elif target == ThermalLevel.HOT and self.level < ThermalLevel.HOT:
            # Each entry into HOT steps down once more: the mode it re-heated in was too much.
            self._offset = min(self._offset + 1, self._max_offset())
        self.level = target

    def _step(self, temp: float, where: str, reasons: list[str], since_change: float) -> bool:
        """A power-mode step within the current level, once per dwell period."""
        if (self.level == ThermalLevel.HOT and temp >= self._config.hot_c
                and self._offset < self._max_offset()):
            self._offset += 1
            reasons.append(f'{where} still >= hot {self._config.hot_c:.0f}C after dwell: '
                           'stepping power mode down')
            return True
        if (self.level == ThermalLevel.NOMINAL and self._offset > 0
                and since_change >= self._config.step_up_dwell_s):
            self._offset -= 1
            reasons.append(f'{where}: nominal for {since_change:.0f}s, stepping power mode up')
            return True
        return False

    def _ladder_index(self) -> int | None:
        ladder = self._config.ladder
        if not ladder:
            return None
        pref = self._config.preferred_mode
        return ladder.index(pref) if pref in ladder else 0

    def _max_offset(self) -> int:
        base = self._ladder_index()
        return 0 if base is None else len(self._config.ladder) - 1 - base

    def _update_battery(self, pct: float | None, reasons: list[str]) -> None:
        cfg = self._config
        if pct is None:
            return
        if not self.battery_low and pct < cfg.battery_low_pct:
            self.battery_low = True
            reasons.append(f'battery {pct:.0f}% < {cfg.battery_low_pct:.0f}%: low-power mode')
        elif self.battery_low and pct > cfg.battery_recover_pct:
            self.battery_low = False
            reasons.append(f'battery {pct:.0f}% > {cfg.battery_recover_pct:.0f}%: '
                           'leaving low-power mode')
        elif self.battery_low:
            reasons.append(f'battery {pct:.0f}% low')

    def _update_memory(self, used: float | None, suite_rss: int | None,
                       reasons: list[str]) -> None:
        cfg = self._config
        if used is not None:
            self._system_memory = _memory_level(
                used, cfg.mem_warn_fraction, cfg.mem_error_fraction,
                cfg.mem_hysteresis_fraction, self._system_memory)
        if suite_rss is not None and cfg.suite_warn_bytes and cfg.suite_error_bytes:
            self._suite_memory = _memory_level(
                suite_rss, cfg.suite_warn_bytes, cfg.suite_error_bytes,
                cfg.mem_hysteresis_fraction * cfg.suite_warn_bytes, self._suite_memory)
        self.memory = max(self._system_memory, self._suite_memory)
        if self.memory != MemoryLevel.OK:
            what = []
            if self._system_memory != MemoryLevel.OK:
                what.append('memory ' + (f'{used:.0%} used' if used is not None else 'high'))
            if self._suite_memory != MemoryLevel.OK:
                what.append('suite processes use ' + (
                    f'{suite_rss / 2**20:.0f} MiB' if suite_rss is not None else 'too much'))
            reasons.append(f'{" and ".join(what)}: {self.memory.name}, shedding perception '
                           'load')

    def _decide(self, now: float, transition: bool, reasons: list[str]) -> Decision:
        cfg = self._config
        mode = None
        base = self._ladder_index()
        if base is not None:
            index = min(base + self._offset, len(cfg.ladder) - 1)
            if self.battery_low and cfg.low_power_mode in cfg.ladder:
                index = max(index, cfg.ladder.index(cfg.low_power_mode))
            elif self.battery_low:
                index = len(cfg.ladder) - 1
            mode = cfg.ladder[index]
        scale = cfg.rate_scale.get(self.level)
        load = 1.0 if scale is None else scale
        load *= cfg.mem_rate_scale.get(self.memory, 1.0)
        if self.battery_low:
            load *= cfg.battery_rate_scale
        decision = Decision(stamp=now, level=self.level, memory=self.memory,
                            battery_low=self.battery_low, power_mode=mode,
                            fan_pwm=cfg.fan_pwm.get(self.level), perception_load=round(load, 4),
                            transition=transition, changed=False, reason='; '.join(reasons))
        prev = self.last_decision
        changed = prev is None or any(
            getattr(prev, f) != getattr(decision, f)
            for f in ('level', 'memory', 'battery_low', 'power_mode', 'fan_pwm',
                      'perception_load'))
        return dataclasses.replace(decision, changed=changed)


def _memory_level(value: float, warn: float, error: float, hysteresis: float,
                  previous: MemoryLevel) -> MemoryLevel:
    """WARN/ERROR from their thresholds; a level is left only ``hysteresis`` below it."""
    if value >= error:
        level = MemoryLevel.ERROR
    elif value >= warn:
        level = MemoryLevel.WARN
    else:
        level = MemoryLevel.OK
    if level < previous:
        limit = (error if previous == MemoryLevel.ERROR else warn) - hysteresis
        if value >= limit:
            return previous
    return level
