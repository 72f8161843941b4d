"""Which tools act on the board, and the one worker thread that runs them.

:func:`actuators_for` picks the actuators from the node's ``actuator_backend``: ``system`` runs
the configured commands, ``dry_run`` only records them, ``sim`` takes the tool stand-ins that
another package registers (:func:`~jetson_edge_power.actuators.load_tool_backend`).

:class:`ActuationWorker` runs a manager's actions off the caller's thread: nvpmodel and
jetson_clocks can take seconds, and the caller is a ROS executor that must keep sampling.
A newer target replaces a pending older one. Thread contract: a failing tool is the manager's
degraded status (recorded by :meth:`PowerManager.apply`, reported on the actuators status);
any other exception escapes the thread, which the node's thread guard turns into ERROR and a
non-zero exit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jetson_edge_power.actuators import (FanActuator, JetsonClocksActuator, NvpmodelActuator,
                                         load_tool_backend)
from jetson_edge_power.layout import Layout
from jetson_edge_power.manager import Actions, PowerManager
from jetson_edge_power.sysfs import SysfsRoot


@dataclass(frozen=True)
class Actuators:
    """The board's actuators; ``None`` where the layout has nothing to act on."""

    nvpmodel: NvpmodelActuator | None
    fan: FanActuator | None
    clocks: JetsonClocksActuator


def actuators_for(values: Mapping[str, Any], layout: Layout, root: SysfsRoot, *,
                  layout_source: str) -> Actuators:
    """The actuators the manager's parameter ``values`` ask for on this ``layout``."""
    backend = values['actuator_backend']
    dry_run = backend == 'dry_run'
    fan = FanActuator(layout, root, dry_run=dry_run) if layout.fan.pwm_write else None
    if backend == 'sim':
        tools = load_tool_backend('sim')

        def command(tool: str) -> tuple[str, ...]:
            return tools.command(tool, root=values['sysfs_root'], layout=layout_source)

        nvpmodel = NvpmodelActuator(layout, command=command('nvpmodel'), runner=tools.runner)
        clocks = JetsonClocksActuator(command=command('jetson_clocks'),
                                      store_file=values['jetson_clocks_store'],
                                      runner=tools.runner)
    else:
        nvpmodel = NvpmodelActuator(layout, command=values['nvpmodel_command'], dry_run=dry_run)
        clocks = JetsonClocksActuator(command=values['jetson_clocks_command'],
                                      store_file=values['jetson_clocks_store'], dry_run=dry_run)
    return Actuators(nvpmodel=nvpmodel if layout.power_modes else None, fan=fan, clocks=clocks)


class ActuationWorker:
    """Applies a :class:`PowerManager`'s actions on one thread (``power-actuation``);
    ``on_result`` gets the lines of the actions that succeeded."""

    def __init__(self, manager: PowerManager, *,
                 on_result: Callable[[list[str]], None] | None = None) -> None:
        self._manager = manager
        self._on_result = on_result
        self._pending = Actions()
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name='power-actuation', daemon=True)
        self._thread.start()

    def submit(self, actions: Actions) -> None:
        """Queue the hardware part of ``actions`` (the load level is the caller's to send)."""
        with self._cond:
            p = self._pending
            self._pending = Actions(
                power_mode=p.power_mode if actions.power_mode is None else actions.power_mode,
                fan_pwm=p.fan_pwm if actions.fan_pwm is None else actions.fan_pwm,
                jetson_clocks=p.jetson_clocks if actions.jetson_clocks is None
                else actions.jetson_clocks)
            if self._pending:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                actions, self._pending = self._pending, Actions()
            lines = self._manager.apply(actions)
            if self._on_result is not None:
                self._on_result(lines)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop after the action in progress; pending ones are dropped."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout_s)
