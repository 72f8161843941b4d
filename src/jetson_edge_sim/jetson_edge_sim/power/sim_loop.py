"""The sim board end to end in one process: thermal model, manager, actuators, perception.

Used by the closed-loop test and the benchmark.  Time is simulated (``step(dt)``), so an hour
of heating and cooling runs in seconds; the manager still reads the model's tree through its
production readers and acts through the production actuators (nvpmodel via the emulator).
Perception is modelled as perception_node maps its load level: the level the manager asks for
times perception's ``max_rate_hz`` becomes the inference rate that heats the model.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from jetson_edge_power.actuators import FanActuator, NvpmodelActuator
from jetson_edge_power.hardware import layout_of
from jetson_edge_power.layout import Layout
from jetson_edge_power.manager import PowerManager, TickResult
from jetson_edge_power.monitor import BoardMonitor
from jetson_edge_power.params import MANAGER_SPECS
from jetson_edge_power.policy import PolicyConfig, ThermalPolicy
from jetson_edge_power.settings import policy_config
from jetson_edge_power.sysfs import SysfsRoot
from jetson_edge_sim.power.sim_tools import in_process_runner, tool_command
from jetson_edge_sim.power.thermal_model import ThermalModel, ThermalModelParams


def manager_values(profile: str = 'sim', **overrides) -> dict:
    """The power manager's parameter values as the node runs them under ``profile``: the
    schema's defaults, the profile's parameters, then ``overrides``."""
    from jetson_edge_common.profiles import load_profile

    node = load_profile(profile, check_parameters=False).nodes.get('power_manager', {})
    return {**{s.name: s.default for s in MANAGER_SPECS}, **node.get('parameters', {}),
            **overrides}


def default_policy_config(layout: Layout, **overrides) -> PolicyConfig:
    """The policy configuration of the sim profile's power manager (``overrides`` are
    parameter values), built as the node builds it."""
    return policy_config(manager_values(**overrides), layout)


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
    max_rate_hz: float = 30.0   # perception's own rate when unloaded
    load: float = 1.0           # the load level the manager last asked for
    now: float = 0.0
    records: list[SimRecord] = field(default_factory=list)

    @property
    def rate_hz(self) -> float:
        return self.max_rate_hz * self.load

    def step(self, dt_s: float) -> TickResult:
        self.model.set_load(cpu_load=self.cpu_load, inference_rate_hz=self.rate_hz)
        self.model.step(dt_s)
        self.now += dt_s
        result = self.manager.tick(now=self.now)
        self.manager.apply(result.actions)
        if result.actions.perception_load is not None:
            self.load = result.actions.perception_load
        d = result.decision
        self.records.append(SimRecord(self.now, self.model.temp_c, self.model.mode_id,
                                      self.model.fan_pwm, self.rate_hz, d.level.name,
                                      d.reason, d.transition))
        return result


def build_sim_loop(root: str | Path | None = None, *, model_params: ThermalModelParams | None
                   = None, initial_c: float = 45.0, policy: PolicyConfig | None = None,
                   use_psutil: bool = False) -> SimLoop:
    layout, _ = layout_of('sim')
    root = str(root) if root is not None else tempfile.mkdtemp(prefix='jetson_edge_sim_')
    model = ThermalModel(layout, root, params=model_params, initial_c=initial_c)
    sysfs = SysfsRoot(root, retry_s=0.0)
    manager = PowerManager(
        BoardMonitor(layout, sysfs, use_psutil=use_psutil, use_nvml=False),
        ThermalPolicy(policy or default_policy_config(layout)),
        nvpmodel=NvpmodelActuator(layout, command=tool_command('nvpmodel', root=root),
                                  runner=in_process_runner),
        fan=FanActuator(layout, sysfs),
        asks_perception=True)
    return SimLoop(model, manager)
