"""``jetson-edge status``'s ROS side: subscribes to ``/diagnostics`` and the suite monitor's
aggregate, feeds :class:`~jetson_edge_bringup.status_view.SuiteStatus` and draws its view,
live (redrawn every ``period_s``) or once.

It subscribes to nothing else: the rates come from the suite monitor, which already receives
every expected topic, so watching the suite adds no second copy of its images and clouds.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.executors import ExternalShutdownException
from rich.console import Console
from rich.live import Live

from jetson_edge_bringup.params import SUITE_MONITOR
from jetson_edge_bringup.plan import Plan, monitored_document
from jetson_edge_bringup.status_table import render
from jetson_edge_bringup.status_view import Entry, SuiteStatus
from jetson_edge_bringup.suite_monitor import watched_nodes
from jetson_edge_common import qos
from jetson_edge_common.diagnostics import Level

MONITOR_EXECUTABLE = 'suite_monitor'


class NoAnswer(RuntimeError):
    """Nothing arrived on /diagnostics or the aggregate within the timeout."""


def aggregate_topic(plan: Plan) -> str:
    """Where the plan's suite monitor publishes its aggregate (its parameter, else the
    schema's default)."""
    default = next(s.default for s in SUITE_MONITOR if s.name == 'aggregate_topic')
    for node in plan.nodes:
        if node.executable == MONITOR_EXECUTABLE:
            return node.parameters.get('aggregate_topic') or default
    return default


def entries(msg: DiagnosticArray) -> list[Entry]:
    return [Entry(s.name, Level(min(s.level[0] if isinstance(s.level, bytes) else int(s.level),
                                    Level.STALE)),
                  s.message, {kv.key: kv.value for kv in s.values}) for s in msg.status]


class StatusCollector:
    """The subscriptions, spun in a thread of their own; :meth:`view` is safe from another."""

    def __init__(self, plan: Plan) -> None:
        self.core = SuiteStatus(watched_nodes(monitored_document(plan, exclude='')),
                                profile=plan.profile, clock=time.monotonic)
        self._lock = threading.Lock()
        self._context = rclpy.Context()
        rclpy.init(context=self._context)
        self._node = rclpy.create_node('jetson_edge_status', context=self._context)
        self._node.create_subscription(DiagnosticArray, '/diagnostics',
                                       self._feeder(self.core.diagnostics), qos.DIAGNOSTICS)
        self._node.create_subscription(DiagnosticArray, aggregate_topic(plan),
                                       self._feeder(self.core.aggregate), qos.DIAGNOSTICS)
        self._executor = rclpy.executors.SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self._node)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, name='status-spin', daemon=True)
        self._thread.start()

    def _feeder(self, feed):
        def on_array(msg: DiagnosticArray) -> None:
            found = entries(msg)
            with self._lock:
                feed(found)
        return on_array

    def _spin(self) -> None:
        try:
            while not self._stop.is_set() and self._context.ok():
                self._executor.spin_once(timeout_sec=0.1)
        except ExternalShutdownException:
            pass

    @property
    def heard(self) -> bool:
        with self._lock:
            return self.core.heard

    def view(self):
        with self._lock:
            return self.core.view()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self._executor.shutdown()
        self._node.destroy_node()
        if self._context.ok():
            rclpy.shutdown(context=self._context)


def run_status(plan: Plan, *, once: bool, wait_s: float, timeout_s: float,
               period_s: float = 0.25, out: TextIO = sys.stdout) -> None:
    """``--once``: waits ``wait_s`` after the first message (a whole diagnostics period or two)
    and prints one view; raises :class:`NoAnswer` when nothing arrives within ``timeout_s``.
    Live: redraws every ``period_s`` until Ctrl-C."""
    collector = StatusCollector(plan)
    console = Console(file=out)
    try:
        if once:
            deadline = time.monotonic() + timeout_s
            while not collector.heard:
                if time.monotonic() > deadline:
                    raise NoAnswer(
                        f'nothing on /diagnostics or {aggregate_topic(plan)} within '
                        f'{timeout_s:g} s: is the suite running, with this ROS_DOMAIN_ID and '
                        f'RMW? (start it with scripts/run-sim.sh or jetson-edge up)')
                time.sleep(0.1)
            time.sleep(wait_s)
            console.print(render(collector.view()))
            return
        with Live(render(collector.view()), console=console, screen=True,
                  auto_refresh=False) as live:
            while True:
                time.sleep(period_s)
                live.update(render(collector.view()), refresh=True)
    finally:
        collector.close()
