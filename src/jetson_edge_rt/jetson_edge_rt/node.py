"""rt_executor_node: the real-time executor as a ROS 2 node.

Wiring only: parameters from `params.py`, `imu/data` into a latest-value buffer, the control loop
(and the optional second loop) in their own threads through `RtExecutor`, commands out on
`control/command` through a publish hand-off, and `rt/timing` plus `/diagnostics` from a ROS
timer, outside the loops. The ROS executor never runs inside a loop.
"""
from __future__ import annotations

import sys
import time

from jetson_edge_common import qos
from jetson_edge_common.diagnostics import DiagnosticsPublisher, Level, Status, guard_threads
from jetson_edge_common.node_main import run
from jetson_edge_common.params import declare_parameters
from jetson_edge_msgs.msg import LoopTiming
from rclpy.node import Node
from sensor_msgs.msg import Imu
from std_msgs.msg import Float64MultiArray, MultiArrayDimension

from .buffers import LatestValue, PublishHandoff
from .controllers import load_controller
from .errors import ConfigError, RtError
from .executor import LoopConfig, LoopRunner, ProcessConfig, RtExecutor
from .inputs import imu_sample_from_msg
from .params import NODE_SPECS
from .timing import TimingThresholds

_NS = 1e-9


class RtExecutorNode(Node):
    def __init__(self, **node_options) -> None:
        super().__init__('rt_executor', **node_options)
        self._specs = NODE_SPECS
        p = declare_parameters(self, self._specs)
        self._p = p
        thresholds = TimingThresholds(latency_warn_us=p['latency_warn_us'], latency_error_us=p['latency_error_us'],
                                      overrun_warn=p['overrun_warn'], overrun_error=p['overrun_error'])
        self._inputs: dict[str, LatestValue] = {}
        self._imu_count = 0

        control = self._make_controller(p['controller'])
        self._command_msg = Float64MultiArray()
        self._command_msg.layout.dim = [MultiArrayDimension(label='joints', size=len(control.command_names),
                                                            stride=len(control.command_names))]
        self._command_pub = self.create_publisher(Float64MultiArray, p['command_topic'], qos.COMMAND)
        runners = [LoopRunner(
            LoopConfig(name='control', rate_hz=p['rate_hz'], priority=p['priority'],
                       cpus=() if p['cpu'] < 0 else (p['cpu'],), overrun_policy=p['overrun_policy'],
                       max_catch_up=p['max_catch_up'], window_s=p['timing_window_s'], thresholds=thresholds,
                       spin_us=p['spin_us']),
            control, output=PublishHandoff(len(control.command_names), self._publish_command, name='rt-command'))]
        if p['aux_controller']:
            aux = self._make_controller(p['aux_controller'])
            runners.append(LoopRunner(
                LoopConfig(name='aux', rate_hz=p['aux_rate_hz'], priority=p['aux_priority'],
                           cpus=() if p['aux_cpu'] < 0 else (p['aux_cpu'],), window_s=p['timing_window_s'],
                           thresholds=thresholds), aux))
        if 'imu' in self._inputs:
            self.create_subscription(Imu, p['imu_topic'], self._on_imu, qos.SENSOR_STREAM)
        self._timing_pub = self.create_publisher(LoopTiming, p['timing_topic'], qos.RELIABLE_STREAM)

        diagnostics = DiagnosticsPublisher(self, hardware_id='rt_executor', period_s=p['report_period_s'])
        diagnostics.add('setup', self._setup_status)
        for runner in runners:
            diagnostics.add(f'{runner.config.name} loop', lambda r=runner: self._loop_status(r))
            diagnostics.add(f'{runner.config.name} controller', lambda r=runner: self._controller_status(r))
        self._runners = runners
        self._guard = guard_threads(self, diagnostics)
        self.create_timer(p['report_period_s'], self._publish_timing)

        self._executor = RtExecutor(ProcessConfig(mlock=p['mlock'], prefault_mb=p['prefault_mb'],
                                                  gc_freeze=p['gc_freeze'],
                                                  switch_interval_us=p['switch_interval_us'],
                                                  cpu_dma_latency_us=p['cpu_dma_latency_us'],
                                                  companion_priority=p['companion_priority']), runners)
        for name, ok, message in self._executor.start():
            # one call site per severity: rclpy refuses a call site whose severity changes
            if ok:
                self.get_logger().info(f'{name}: {message}')
            else:
                self.get_logger().warning(f'{name} DEGRADED: {message}')

    def _make_controller(self, name: str):
        controller = load_controller(name)()
        prefix = f'{name}.'
        params = {k[len(prefix):]: v for k, v in self._p.items() if k.startswith(prefix)}
        for input_name in controller.input_names:
            if input_name != 'imu':
                raise ConfigError(f'controller {name!r} needs input {input_name!r}, which this node does not '
                                  f'provide (it provides: imu)')
            self._inputs.setdefault(input_name, LatestValue())
        controller.configure(params, self._inputs)
        return controller

    # --- non-real-time callbacks ----------------------------------------------------------

    def _on_imu(self, msg: Imu) -> None:
        self._inputs['imu'].write_from_non_rt(imu_sample_from_msg(msg, time.monotonic_ns()))
        self._imu_count += 1

    def _publish_command(self, values) -> None:
        """Runs on the hand-off thread."""
        self._command_msg.data = values.tolist()
        self._command_pub.publish(self._command_msg)

    def _publish_timing(self) -> None:
        stamp = self.get_clock().now().to_msg()
        for runner in self._runners:
            s = runner.timing()
            msg = LoopTiming()
            msg.header.stamp = stamp
            msg.loop_name = runner.config.name
            msg.period_s = s.period_ns * _NS
            msg.cycles = s.window
            msg.overruns = s.overruns_window
            msg.missed_cycles = s.missed_cycles_window
            msg.wakeup_latency_p50_s = s.latency_p50_ns * _NS
            msg.wakeup_latency_p99_s = s.latency_p99_ns * _NS
            msg.wakeup_latency_max_s = s.latency_max_ns * _NS
            msg.execution_p50_s = s.exec_p50_ns * _NS
            msg.execution_p99_s = s.exec_p99_ns * _NS
            msg.execution_max_s = s.exec_max_ns * _NS
            self._timing_pub.publish(msg)

    def _setup_status(self) -> Status:
        degraded = self._executor.degraded
        values = {name: message for name, _, message in self._executor.setup}
        if degraded:
            return Status(Level.WARN, 'running degraded: ' + '; '.join(f'{n}: {m}' for n, _, m in degraded), values)
        return Status(Level.OK, 'real-time set-up complete', values)

    def _loop_status(self, runner: LoopRunner) -> Status:
        level, message = runner.timing_status()
        s = runner.timing().as_dict_us()
        values = {k: s[k] for k in ('period_us', 'cycles', 'latency_p50_us', 'latency_p99_us', 'latency_p999_us',
                                    'latency_max_us', 'exec_p99_us', 'overruns_total', 'missed_cycles_total')}
        values['dropped_outputs'] = runner.dropped_outputs
        if not runner.running and runner.failure is None:
            return Status(Level.STALE, 'loop not running', values)
        return Status(Level(int(level)), message, values)

    def _controller_status(self, runner: LoopRunner) -> Status:
        level, message, values = runner.controller.status()
        if runner.config.name == 'control':
            values = {**values, 'imu_messages': self._imu_count}
        return Status(Level(int(level)), message, values)

    def close(self) -> None:
        """Stops the loops; the controller's safe command is the last one published, where ROS still can."""
        self._executor.stop()
        for runner in self._runners:
            if runner.final_publish_error:
                print(f'rt_executor: {runner.config.name} loop: safe command not published at shutdown '
                      f'({runner.final_publish_error}); actuators must treat silence on the command topic as '
                      'stop', file=sys.stderr)


def main(args: list[str] | None = None) -> int:
    try:
        return run(RtExecutorNode, args)
    except RtError as exc:
        print(f'rt_executor: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    raise SystemExit(main())
