"""The sim board end to end in one process: thermal model, manager, actuators, perception.

Used by the closed-loop test and the benchmark.  Time is simulated (``step(dt)``), so an hour
of heating and cooling runs in seconds; the manager still reads the model's tree through its
production readers and acts through the production actuators (nvpmodel via the emulator).
Perception is modelled as obeying its ``max_rate_hz`` parameter: the rate the manager requests
becomes the inference rate that heats the model.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from jetson_edge_power.actuators import FanActuator, NvpmodelActuator
from jetson_edge_power.layout import Layout, layout_from_dict
from jetson_edge_power.manager import PowerManager, TickResult
from jetson_edge_power.models import THRESHOLDS, hardware
from jetson_edge_power.monitor import BoardMonitor
from jetson_edge_power.policy import PolicyConfig, ThermalLevel, ThermalPolicy
from jetson_edge_power.sim_tools import in_process_runner, tool_command
from jetson_edge_power.sysfs import SysfsRoot
from jetson_edge_power.thermal_model import ThermalModel, ThermalModelParams


def default_policy_config(layout: Layout, model: str = 'sim', **overrides) -> PolicyConfig:
    ladder = tuple(m.id for m in layout.ladder())
    base = dict(ladder=ladder, preferred_mode=ladder[0] if ladder else None,
                fan_pwm={ThermalLevel.NOMINAL: 80, ThermalLevel.WARM: 160, ThermalLevel.HOT: 255,
                         ThermalLevel.CRITICAL: 255},
                low_power_mode=ladder[-1] if ladder else None, **THRESHOLDS.get(model, {}))
    base.update(overrides)
    return PolicyConfig(**base)


@dataclass
class SimRecord:
    t: float
    temp_c: float
    mode: int
    fan_pwm: float
    rate_hz: float
    level: str
    reason: str
    transition: bool


@dataclass
class SimLoop:
    model: ThermalModel
    manager: PowerManager
    cpu_load: float = 0.5
    rate_hz: float = 30.0
    now: float = 0.0
    records: list[SimRecord] = field(default_factory=list)

    def step(self, dt_s: float) -> TickResult:
        self.model.set_load(cpu_load=self.cpu_load, inference_rate_hz=self.rate_hz)
        self.model.step(dt_s)
        self.now += dt_s
        result = self.manager.tick(now=self.now)
        self.manager.apply(result.actions)
        d = result.decision
        self.records.append(SimRecord(self.now, self.model.temp_c, self.model.mode_id,
                                      self.model.fan_pwm, self.rate_hz, d.level.name,
                                      d.reason, d.transition))
        return result


def build_sim_loop(root: str | Path | None = None, *, model_params: ThermalModelParams | None
                   = None, initial_c: float = 45.0, policy: PolicyConfig | None = None,
                   use_psutil: bool = False) -> SimLoop:
    layout, _ = layout_from_dict(hardware('sim'))
    root = str(root) if root is not None else tempfile.mkdtemp(prefix='jetson_edge_sim_')
    model = ThermalModel(layout, root, params=model_params, initial_c=initial_c)
    sysfs = SysfsRoot(root, retry_s=0.0)
    loop: SimLoop
    manager = PowerManager(
        BoardMonitor(layout, sysfs, use_psutil=use_psutil, use_nvml=False),
        ThermalPolicy(policy or default_policy_config(layout)),
        nvpmodel=NvpmodelActuator(layout, command=tool_command('nvpmodel', root=root),
                                  runner=in_process_runner),
        fan=FanActuator(layout, sysfs),
        request_rate=lambda hz: setattr(loop, 'rate_hz', hz))
    loop = SimLoop(model, manager)
    return loop
