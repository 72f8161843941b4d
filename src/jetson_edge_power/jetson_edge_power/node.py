"""power_manager_node: the power and thermal manager as a ROS 2 node.

Wiring only: parameters from ``params.py``; a timer at ``sample_rate_hz`` runs
:meth:`PowerManager.tick`; nvpmodel, fan and jetson_clocks actions go to a worker thread (the
tools can take seconds and must not stall the executor); the load level the policy asks of
perception goes out as an asynchronous ``SetParameters`` call on the perception node;
``sensor_msgs/BatteryState`` feeds the battery level (:mod:`battery`); ``/diagnostics`` (the
statuses of :mod:`status`) and the optional Prometheus endpoint report every metric, the policy
state and its last decision with the reason.
"""

from __future__ import annotations

import logging
import sys
import threading

from jetson_edge_common import qos
from jetson_edge_common.diagnostics import DiagnosticsPublisher, guard_threads
from jetson_edge_common.node_main import run
from jetson_edge_common.params import declare_parameters, on_parameter_change
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterType, ParameterValue, SetParametersResult
from rcl_interfaces.srv import SetParameters
from rclpy.node import Node
from sensor_msgs.msg import BatteryState

from jetson_edge_power import status
from jetson_edge_power.actuators import (FanActuator, JetsonClocksActuator, NvpmodelActuator,
                                         load_tool_backend)
from jetson_edge_power.errors import ActuatorError, LayoutError
from jetson_edge_power.hardware import layout_of
from jetson_edge_power.manager import Actions, BackgroundApplier, PowerManager
from jetson_edge_power.monitor import BoardMonitor
from jetson_edge_power.params import MANAGER_SPECS
from jetson_edge_power.battery import battery_percent
from jetson_edge_power.policy import ThermalPolicy
from jetson_edge_power.prometheus_export import MetricsServer
from jetson_edge_power.settings import POLICY_KEYS, layout_source, policy_config
from jetson_edge_power.sysfs import SysfsRoot
from jetson_edge_power.tegrastats_source import TegrastatsSource

class _RosLogHandler(logging.Handler):
    """Forwards the core's Python logging to the node's logger."""

    def __init__(self, node: Node) -> None:
        super().__init__(logging.INFO)
        self._logger = node.get_logger()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            self._logger.error(message)
        elif record.levelno >= logging.WARNING:
            self._logger.warning(message)
        else:
            self._logger.info(message)


class PowerManagerNode(Node):
    def __init__(self) -> None:
        super().__init__('power_manager')
        self._core_log = logging.getLogger('jetson_edge_power')
        self._log_handler = _RosLogHandler(self)
        self._core_log.addHandler(self._log_handler)
        self._core_log.setLevel(logging.INFO)
        p = declare_parameters(self, MANAGER_SPECS)
        self._p = p
        self._layout_source = layout_source(p)
        self.layout, problems = layout_of(self._layout_source, root=p['sysfs_root'])
        config = policy_config(p, self.layout)
        root = SysfsRoot(p['sysfs_root'])
        self._manager = PowerManager(
            BoardMonitor(self.layout, root, use_nvml=p['use_nvml'],
                         suite_pattern=p['suite_process_pattern']),
            ThermalPolicy(config),
            nvpmodel=self._nvpmodel(p) if self.layout.power_modes else None,
            fan=FanActuator(self.layout, root, dry_run=p['actuator_backend'] == 'dry_run')
            if self.layout.fan.pwm_write else None,
            asks_perception=bool(p['perception_node']),
            policy_enabled=p['policy_enabled'], retry_s=p['action_retry_s'],
            battery_timeout_s=p['battery_timeout_s'],
            sample_period_s=1.0 / p['sample_rate_hz'],
            stale_after_periods=p['stale_after_periods'])
        self._clocks = self._jetson_clocks(p)
        self._applier = BackgroundApplier(self._manager, on_result=self._log_results)
        self._load_client = None
        if p['perception_node']:
            self._load_client = self.create_client(
                SetParameters, f'{p["perception_node"]}/set_parameters')
        if p['battery_topic']:
            self.create_subscription(BatteryState, p['battery_topic'], self._on_battery,
                                     qos.SENSOR_STREAM)
        self._tegrastats = None
        if p['tegrastats_interval_ms']:
            try:
                self._tegrastats = TegrastatsSource(command=p['tegrastats_command'],
                                                    interval_ms=p['tegrastats_interval_ms'])
            except ActuatorError as exc:
                self.get_logger().error(f'tegrastats: {exc}')
        self._metrics = None
        if p['prometheus_port']:
            self._metrics = MetricsServer(lambda: self._manager.last,
                                          port=p['prometheus_port'],
                                          address=p['prometheus_address'])
            self.get_logger().info(f'Prometheus metrics on port {self._metrics.port}')
        on_parameter_change(self, MANAGER_SPECS, self._apply_param)
        # Added last so rclpy runs it first: a combination the policy refuses (warm above
        # hot, a mode off the ladder) is rejected before any value is applied.
        self.add_on_set_parameters_callback(self._check_policy_params)
        diag = DiagnosticsPublisher(self, hardware_id=self.layout.model,
                                    period_s=1.0 / p['diagnostics_rate_hz'])
        diag.add('thermal policy', lambda: status.policy_status(self._manager, self.layout))
        diag.add('board', lambda: status.board_status(self._manager, self._tegrastats))
        diag.add('memory', lambda: status.memory_status(self._manager))
        diag.add('actuators', lambda: status.actuator_status(
            self._manager, backend=self._p['actuator_backend']))
        self._guard = guard_threads(self, diag)
        self.create_timer(1.0 / p['sample_rate_hz'], self._tick)
        self.get_logger().info(
            f'power manager on {self.layout.model} (root {p["sysfs_root"]}, actuators '
            f'{p["actuator_backend"]}, {p["sample_rate_hz"]:g} Hz, ladder '
            f'{list(config.ladder)}, cool mode {config.preferred_mode})'
            + (f'; layout problems: {problems}' if problems else ''))

    # --- construction helpers -------------------------------------------------------------

    def _nvpmodel(self, p: dict) -> NvpmodelActuator:
        if p['actuator_backend'] == 'sim':
            backend = load_tool_backend('sim')
            return NvpmodelActuator(self.layout, command=backend.command(
                'nvpmodel', root=p['sysfs_root'], layout=self._layout_source),
                runner=backend.runner)
        return NvpmodelActuator(self.layout, command=p['nvpmodel_command'],
                                dry_run=p['actuator_backend'] == 'dry_run')

    def _jetson_clocks(self, p: dict) -> JetsonClocksActuator:
        if p['actuator_backend'] == 'sim':
            backend = load_tool_backend('sim')
            return JetsonClocksActuator(command=backend.command(
                'jetson_clocks', root=p['sysfs_root'], layout=self._layout_source),
                store_file=p['jetson_clocks_store'], runner=backend.runner)
        return JetsonClocksActuator(command=p['jetson_clocks_command'],
                                    store_file=p['jetson_clocks_store'],
                                    dry_run=p['actuator_backend'] == 'dry_run')

    # --- the loop ---------------------------------------------------------------------------

    def _tick(self) -> None:
        result = self._manager.tick()
        actions = result.actions
        if result.decision.transition:
            self.get_logger().info(f'policy: {result.decision.reason}')
        if actions.perception_load is not None:  # async service call: fine on this thread
            self._ask_perception(actions.perception_load)
        self._applier.submit(Actions(power_mode=actions.power_mode, fan_pwm=actions.fan_pwm))

    def _ask_perception(self, load: float) -> None:
        name = self._p['perception_load_param']
        client = self._load_client
        if client is None or not client.service_is_ready():
            self._manager.mark_failed('perception_load', f'perception node '
                                      f'{self._p["perception_node"]!r} offers no parameter '
                                      'service (not running yet?)')
            return
        value = ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=float(load))
        future = client.call_async(SetParameters.Request(
            parameters=[ParameterMsg(name=name, value=value)]))
        future.add_done_callback(lambda f: self._on_load_reply(f, load))
        self.get_logger().info(f'asked perception for load level {load:g}')

    def _on_load_reply(self, future, load: float) -> None:
        response = future.result()
        results = response.results if response is not None else []
        if results and results[0].successful:
            self._manager.mark_succeeded('perception_load')
            return
        reason = results[0].reason if results else 'no reply'
        self._manager.mark_failed('perception_load', f'perception refused '
                                  f'{self._p["perception_load_param"]}={load:g}: {reason}')

    def _log_results(self, lines: list[str]) -> None:
        for line in lines:
            self.get_logger().info(line)

    def _on_battery(self, msg: BatteryState) -> None:
        self._manager.report_battery(battery_percent(msg.percentage, msg.charge, msg.capacity))

    # --- run-time parameters ------------------------------------------------------------

    def _check_policy_params(self, params) -> SetParametersResult:
        changed = {p.name: p.value for p in params if p.name in POLICY_KEYS}
        if not changed:
            return SetParametersResult(successful=True)
        try:
            policy_config({**self._p, **changed}, self.layout)
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def _apply_param(self, name: str, value) -> None:
        self._p[name] = value
        if name in POLICY_KEYS:
            self._manager.policy.reconfigure(policy_config(self._p, self.layout))
            if name == 'power_mode' and not self._manager.policy_enabled:
                mode = self._manager.policy.config.preferred_mode
                if mode is not None:
                    self._applier.submit(self._manager.request_power_mode(mode))
        elif name == 'policy_enabled':
            self._manager.policy_enabled = bool(value)
        elif name == 'jetson_clocks' and value != 'unchanged':
            threading.Thread(target=self._set_clocks, args=(value,), daemon=True).start()

    def _set_clocks(self, value: str) -> None:
        try:
            result = self._clocks.enable() if value == 'on' else self._clocks.restore()
            self.get_logger().info(result.message)
        except ActuatorError as exc:
            self.get_logger().error(f'jetson_clocks {value}: {exc}')

    def close(self) -> None:
        self._applier.close()
        if self._metrics is not None:
            self._metrics.close()
        self._manager.monitor.close()
        if self._tegrastats is not None:
            self._tegrastats.close()
        self._core_log.removeHandler(self._log_handler)


def main(args: list[str] | None = None) -> int:
    try:
        return run(PowerManagerNode, args)
    except (LayoutError, ValueError) as exc:
        print(f'power_manager: {exc}', file=sys.stderr)
        return 2
