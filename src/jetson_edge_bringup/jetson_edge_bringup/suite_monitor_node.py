"""``suite_monitor``: every node of the plan watched through its diagnostics, its expected topics
and its runner; verdicts on ``/diagnostics`` and, one entry per node and per topic, on
``/diagnostics_agg``.

Thin wiring of :class:`~jetson_edge_bringup.suite_monitor.SuiteMonitor`: the expected topics
are subscribed raw (arrivals are counted, nothing is deserialized, images and clouds included)
and best effort (compatible with reliable publishers, and no acknowledgements asked of them);
the runners' status files are read on every check and relayed as ``node_runner: <key>``.
"""

from __future__ import annotations

import sys
import time

import yaml
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.exceptions import InvalidParameterValueException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from jetson_edge_bringup.params import SUITE_MONITOR
from jetson_edge_bringup.runner_status import StatusFileError, read_status
from jetson_edge_bringup.suite_monitor import (MonitorConfig, SuiteMonitor,
                                               runner_report, watched_nodes)
from jetson_edge_common.message_types import message_type
from jetson_edge_common import qos
from jetson_edge_common.diagnostics import Level, format_value
from jetson_edge_common.node_main import run
from jetson_edge_common.params import declare_parameters

_ARRIVALS = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)


class MonitorSetupError(ValueError):
    """The monitor cannot start: no readable plan file."""


def _status(name: str, level: Level, message: str, values: dict) -> DiagnosticStatus:
    return DiagnosticStatus(level=bytes([int(level)]), name=name, message=message,
                            hardware_id='jetson_edge',
                            values=[KeyValue(key=str(k), value=format_value(v))
                                    for k, v in values.items()])


class SuiteMonitorNode(Node):
    def __init__(self, **node_options) -> None:
        super().__init__('suite_monitor', **node_options)
        p = declare_parameters(self, SUITE_MONITOR)
        if not p['plan_file']:
            raise MonitorSetupError('suite_monitor: parameter plan_file is empty; start it from '
                                    'the plan (jetson-edge up, ros2 launch), which writes it')
        try:
            document = yaml.safe_load(open(p['plan_file']).read()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise MonitorSetupError(f'suite_monitor: cannot read plan_file: {exc}') from None
        config = MonitorConfig(silence_s=p['silence_s'], missed_periods=p['missed_periods'],
                               rate_window_s=p['rate_window_s'], rate_share=p['rate_share'],
                               startup_grace_s=p['startup_grace_s'],
                               restart_hold_s=p['restart_hold_s'])
        self._core = SuiteMonitor(watched_nodes(document), config, clock=time.monotonic)
        self._own = f'{self.get_name()}: '
        for topic in {t.topic: t for t in self._core.topics()}.values():
            try:
                msg_type = message_type(topic.type)
            except (ImportError, AttributeError, ValueError) as exc:
                reason = f'cannot load type {topic.type!r}: {exc!r}'
                self.get_logger().error(f'{topic.topic}: {reason}')
                self._core.topic_unwatchable(topic.topic, reason)
                continue
            self.create_subscription(msg_type, topic.topic,
                                     lambda _msg, name=topic.topic: self._core.topic_arrived(name),
                                     _ARRIVALS, raw=True)
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                 qos.DIAGNOSTICS)
        self._diagnostics = self.create_publisher(DiagnosticArray, '/diagnostics',
                                                  qos.DIAGNOSTICS)
        self._aggregate = self.create_publisher(DiagnosticArray, p['aggregate_topic'],
                                                qos.DIAGNOSTICS)
        self._publish_period_s = p['publish_period_s']
        self._published_at = float('-inf')
        self._levels: dict[str, Level] = {}
        self.create_timer(p['check_period_s'], self._check)
        self.get_logger().info(
            f'watching {len(self._core.nodes)} nodes and {len(self._core.topics())} topics of '
            f'profile {document.get("profile", "?")!r}; silence is an ERROR after '
            f'{config.silence_s:g} s; aggregate on {self._aggregate.topic_name}')

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.startswith(self._own):
                continue
            level = status.level[0] if isinstance(status.level, bytes) else int(status.level)
            self._core.status_arrived(status.name, level, status.message)

    def _read_runners(self) -> list[DiagnosticStatus]:
        relayed = []
        for node in self._core.nodes:
            if not node.status_file:
                continue
            problem, status = '', None
            try:
                status = read_status(node.status_file)
            except (OSError, StatusFileError) as exc:
                problem = f'cannot read the runner status: {exc}'
            self._core.runner_update(node.key, status, problem=problem)
            level, message = runner_report(status, node.key, problem=problem)
            values = {} if status is None else {
                'pid': status.node_pid, 'starts': status.starts, 'restarts': status.restarts,
                'last_exit': status.last_exit, 'state': status.state,
                'events': ' | '.join(line for _, line in status.events[-3:])}
            relayed.append(_status(f'node_runner: {node.key}', level, message, values))
        return relayed

    def _check(self) -> None:
        relayed = self._read_runners()
        reports = self._core.evaluate()
        findings = self._core.findings()
        levels = {r.name: r.level for r in reports}
        levels['findings'] = findings.level
        now = time.monotonic()
        if levels == self._levels and now - self._published_at < self._publish_period_s:
            return
        self._levels, self._published_at = levels, now
        stamp = self.get_clock().now().to_msg()
        aggregate = DiagnosticArray(status=[_status(r.name, r.level, r.message, r.values)
                                            for r in reports])
        aggregate.header.stamp = stamp
        own = DiagnosticArray(status=[_status(f'{self._own}suite', findings.level,
                                              findings.message, findings.values), *relayed])
        own.header.stamp = stamp
        self._aggregate.publish(aggregate)
        self._diagnostics.publish(own)


def main(args: list[str] | None = None) -> int:
    try:
        return run(SuiteMonitorNode, args)
    except (MonitorSetupError, ValueError, InvalidParameterValueException) as exc:
        print(f'suite_monitor: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
