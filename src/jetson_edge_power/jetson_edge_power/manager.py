"""The manager's loop body: sample, decide, and work out which actions are due.

:meth:`PowerManager.tick` is cheap and never blocks on a tool: it returns the decision and
the actions whose target differs from what was last requested.  :meth:`PowerManager.apply`
runs the hardware actions (nvpmodel can take seconds) and is meant to run off the sampling
thread (:class:`~jetson_edge_power.actuation.ActuationWorker`).  The load level asked of
perception is the caller's to send (a ROS parameter set, or the simulated perception), with
:meth:`PowerManager.mark_failed` for a refusal (retried after ``retry_s``) and
:meth:`PowerManager.mark_unsent` when the receiver is not up (asked again on the next tick).
A failed action is recorded and logged once per distinct message; it never raises.  A
jetson_clocks switch is a user's request (:meth:`PowerManager.request_clocks`): a failure is
recorded and logged, not retried.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field

from jetson_edge_power.actuators import FanActuator, JetsonClocksActuator, NvpmodelActuator
from jetson_edge_power.errors import ActuatorError
from jetson_edge_power.monitor import BoardMonitor, Snapshot
from jetson_edge_power.policy import Decision, PolicyInputs, ThermalPolicy

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actions:
    power_mode: int | None = None
    fan_pwm: float | None = None
    perception_load: float | None = None
    jetson_clocks: str | None = None   # 'on' or 'restore'

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.power_mode, self.fan_pwm,
                                           self.perception_load, self.jetson_clocks))


@dataclass(frozen=True)
class TickResult:
    snapshot: Snapshot
    decision: Decision
    actions: Actions


@dataclass
class _Target:
    requested: float | None = None
    failed_at: float | None = None
    last_error: str = ''


@dataclass
class ActuationState:
    power_mode: _Target = field(default_factory=_Target)
    fan_pwm: _Target = field(default_factory=_Target)
    perception_load: _Target = field(default_factory=_Target)
    jetson_clocks: _Target = field(default_factory=_Target)


class PowerManager:
    """Ties one :class:`BoardMonitor`, one :class:`ThermalPolicy` and the actuators."""

    def __init__(self, monitor: BoardMonitor, policy: ThermalPolicy, *,
                 nvpmodel: NvpmodelActuator | None = None, fan: FanActuator | None = None,
                 clocks: JetsonClocksActuator | None = None, asks_perception: bool = False,
                 policy_enabled: bool = True, retry_s: float = 30.0,
                 battery_timeout_s: float = math.inf,
                 sample_period_s: float = 0.5, stale_after_periods: int = 10,
                 logger: logging.Logger | None = None) -> None:
        self.monitor = monitor
        self.policy = policy
        self.nvpmodel = nvpmodel
        self.fan = fan
        self.clocks = clocks
        self.asks_perception = asks_perception
        self.policy_enabled = policy_enabled
        self.retry_s = retry_s
        self._log = logger or _LOG
        self.state = ActuationState()
        self._lock = threading.Lock()
        self._logged: set[str] = set()
        self.battery_pct: float | None = None
        self.battery_timeout_s = battery_timeout_s
        self._battery_at = -math.inf
        self.last: TickResult | None = None
        self.stale_after_s = stale_after_periods * sample_period_s
        self._stale_after_periods = stale_after_periods
        self._first_tick: float | None = None
        self.reading_at: float | None = None   # when the last board temperature was read

    def report_battery(self, pct: float | None, *, now: float | None = None) -> None:
        """A battery reading in percent (``None``: the reading did not tell)."""
        if pct is None:
            return
        self.battery_pct = pct
        self._battery_at = time.monotonic() if now is None else now

    def battery_at(self, *, now: float) -> float | None:
        """The battery's percent, or ``None`` once the last reading is older than
        ``battery_timeout_s`` (the policy then acts as if there were no battery)."""
        if now - self._battery_at > self.battery_timeout_s:
            self.battery_pct = None
        return self.battery_pct

    def tick(self, *, now: float | None = None) -> TickResult:
        stamp = time.monotonic() if now is None else now
        snap = self.monitor.sample()
        thermal = self.monitor.layout.thermal
        hottest = snap.max_temp(thermal.policy_zones, thermal.ignore)
        if hottest is None:  # no policy zone on this board: fall back to every zone
            hottest = snap.max_temp((), thermal.ignore)
        if self._first_tick is None:
            self._first_tick = stamp
        if hottest is not None:
            self.reading_at = stamp
        system = snap.system
        decision = self.policy.update(PolicyInputs(
            now=stamp, max_temp_c=hottest[1] if hottest else None,
            hottest_zone=hottest[0] if hottest else '',
            mem_used_fraction=system.mem_used_fraction if system is not None else None,
            suite_rss_bytes=system.suite_rss_bytes if system is not None else None,
            battery_pct=self.battery_at(now=stamp)))
        actions = self._due(snap, decision, stamp) if self.policy_enabled else Actions()
        result = TickResult(snap, decision, actions)
        self.last = result
        return result

    def readings_stale(self, now: float) -> str | None:
        """Why the board's readings are stale at ``now`` (monotonic s), or None: no
        temperature read from sysfs for ``stale_after_periods`` sample periods, whether the
        zones vanished or the loop stopped ticking. None before the first tick."""
        since = self.reading_at if self.reading_at is not None else self._first_tick
        if since is None or now - since <= self.stale_after_s:
            return None
        what = ('no board temperature read' if self.reading_at is None
                else f'no board temperature read for {now - since:.1f} s')
        return (f'{what} (stale after {self._stale_after_periods} sample periods = '
                f'{self.stale_after_s:g} s); check the thermal zones under sysfs_root')

    def _due(self, snap: Snapshot, decision: Decision, now: float) -> Actions:
        with self._lock:
            st = self.state
            if st.power_mode.requested is None and snap.power_mode_id is not None:
                st.power_mode.requested = snap.power_mode_id
            mode = self._claim(st.power_mode, decision.power_mode,
                               self.nvpmodel is not None, now)
            fan = self._claim(st.fan_pwm, decision.fan_pwm, self.fan is not None, now)
            load = self._claim(st.perception_load, decision.perception_load,
                               self.asks_perception, now)
        return Actions(power_mode=None if mode is None else int(mode), fan_pwm=fan,
                       perception_load=load)

    def _claim(self, target: _Target, wanted: float | None, able: bool,
               now: float) -> float | None:
        if wanted is None or not able:
            return None
        if target.requested == wanted:
            if target.failed_at is None or now - target.failed_at < self.retry_s:
                return None
        target.requested = wanted
        target.failed_at = None
        return wanted

    def request_power_mode(self, mode_id: int) -> Actions:
        """A user's explicit mode (parameter set): applied even with the policy disabled."""
        with self._lock:
            self.state.power_mode.requested = mode_id
            self.state.power_mode.failed_at = None
        return Actions(power_mode=mode_id)

    def request_clocks(self, setting: str) -> Actions:
        """A user's jetson_clocks switch, ``on`` or ``restore`` (parameter set)."""
        if setting not in ('on', 'restore'):
            raise ValueError(f'jetson_clocks {setting!r}: expected on or restore')
        return Actions(jetson_clocks=setting)

    def apply(self, actions: Actions) -> list[str]:
        """Run the hardware actions; returns a line per action that succeeded (failures are
        logged and recorded in :meth:`errors`)."""
        lines = []
        for name, value, run in (
                ('power_mode', actions.power_mode,
                 lambda v: self.nvpmodel.set_mode(int(v)).message),
                ('fan_pwm', actions.fan_pwm, lambda v: self.fan.set_pwm(v).message)):
            if value is None:
                continue
            target: _Target = getattr(self.state, name)
            try:
                lines.append(run(value))
                target.last_error = ''
            except ActuatorError as exc:
                self.mark_failed(name, f'{name} -> {value}: {exc}')
        if actions.jetson_clocks is not None:  # after the mode: clocks lock at its maximum
            lines += self._switch_clocks(actions.jetson_clocks)
        return lines

    def _switch_clocks(self, setting: str) -> list[str]:
        target = self.state.jetson_clocks
        try:
            if self.clocks is None:
                raise ActuatorError('this manager has no jetson_clocks actuator')
            result = self.clocks.enable() if setting == 'on' else self.clocks.restore()
        except ActuatorError as exc:
            with self._lock:
                target.last_error = f'jetson_clocks {setting}: {exc}'
            self._log.error(target.last_error)
            return []
        with self._lock:
            target.last_error = ''
        return [result.message]

    def mark_failed(self, name: str, message: str) -> None:
        """Record that an action applied elsewhere (perception's parameter set) failed."""
        target: _Target = getattr(self.state, name)
        with self._lock:
            target.failed_at = time.monotonic()
            target.last_error = message
        if message not in self._logged:
            self._logged.add(message)
            self._log.error('%s (retrying every %.0fs)', message, self.retry_s)

    def mark_unsent(self, name: str, message: str) -> None:
        """Record that an action applied elsewhere could not be sent because its receiver is
        not up (not yet, or restarting). Unlike a refusal it is claimed again on the next tick,
        not after ``retry_s``, so a peer that comes back gets it as soon as it is seen."""
        target: _Target = getattr(self.state, name)
        with self._lock:
            target.requested = None
            target.last_error = message
        if message not in self._logged:
            self._logged.add(message)
            self._log.error('%s (asking again every tick until it answers)', message)

    def mark_succeeded(self, name: str) -> None:
        """Record that an action applied elsewhere (perception's parameter set) took effect."""
        target: _Target = getattr(self.state, name)
        with self._lock:
            target.failed_at = None
            target.last_error = ''

    def errors(self) -> dict[str, str]:
        return {name: getattr(self.state, name).last_error
                for name in ('power_mode', 'fan_pwm', 'perception_load', 'jetson_clocks')
                if getattr(self.state, name).last_error}

