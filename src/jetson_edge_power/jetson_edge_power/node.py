"""power_manager_node: the power and thermal manager as a ROS 2 node.

Wiring only: parameters from ``params.py`` build the core (:func:`settings.manager_for`, which
picks the actuators); a timer at ``sample_rate_hz`` runs :meth:`PowerManager.tick`; nvpmodel,
fan and jetson_clocks actions go to the core's :class:`ActuationWorker` (the tools can take
seconds and must not stall the executor); the load level the policy asks of
perception goes out as an asynchronous ``SetParameters`` call on the perception node;
``sensor_msgs/BatteryState`` feeds the battery level (:mod:`battery`); ``/diagnostics`` (the
statuses of :mod:`status`) and the optional Prometheus endpoint report every metric, the policy
state and its last decision with the reason.
"""

from __future__ import annotations

import logging
import sys

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
from jetson_edge_power.actuation import ActuationWorker
from jetson_edge_power.battery import battery_percent
from jetson_edge_power.errors import ActuatorError, LayoutError
from jetson_edge_power.hardware import layout_of
from jetson_edge_power.params import MANAGER_SPECS
from jetson_edge_power.prometheus_export import MetricsServer
from jetson_edge_power.settings import (POLICY_KEYS, apply_parameter, layout_source,
                                        manager_for, policy_config)
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
    def __init__(self, **node_options) -> None:
        super().__init__('power_manager', **node_options)
        self._core_log = logging.getLogger('jetson_edge_power')
        self._log_handler = _RosLogHandler(self)
        self._core_log.addHandler(self._log_handler)
        self._core_log.setLevel(logging.INFO)
        p = declare_parameters(self, MANAGER_SPECS)
        self._p = p
        source = layout_source(p)
        self.layout, problems = layout_of(source, root=p['sysfs_root'])
        self._manager = manager_for(p, self.layout, layout_source=source)
        self._worker = ActuationWorker(self._manager, on_result=self._log_results)
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
        config = self._manager.policy.config
        self.get_logger().info(
            f'power manager on {self.layout.model} (root {p["sysfs_root"]}, actuators '
            f'{p["actuator_backend"]}, {p["sample_rate_hz"]:g} Hz, ladder '
            f'{list(config.ladder)}, cool mode {config.preferred_mode})'
            + (f'; layout problems: {problems}' if problems else ''))

    # --- the loop ---------------------------------------------------------------------------

    def _tick(self) -> None:
        result = self._manager.tick()
        actions = result.actions
        if result.decision.transition:
            self.get_logger().info(f'policy: {result.decision.reason}')
        if actions.perception_load is not None:  # async service call: fine on this thread
            self._ask_perception(actions.perception_load)
        self._worker.submit(actions)

    def _ask_perception(self, load: float) -> None:
        name = self._p['perception_load_param']
        client = self._load_client
        if client is None or not client.service_is_ready():
            self._manager.mark_unsent('perception_load', f'perception node '
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
        self._worker.submit(apply_parameter(self._manager, self._p, name))

    def close(self) -> None:
        self._worker.close()
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
