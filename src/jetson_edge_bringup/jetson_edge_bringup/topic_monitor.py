"""Watches a set of topics from inside one process: arrival times per topic and the latest
level of every ``/diagnostics`` status. Used by ``jetson-edge soak`` and the system tests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy

from jetson_edge_common.message_types import message_type


@dataclass
class TopicLog:
    stamps: list[float] = field(default_factory=list)


class TopicMonitor:
    """Subscribes to ``topics`` (name -> (type name, qos 'sensor'|'reliable')) and to
    ``/diagnostics``; spins in its own thread with its own context until :meth:`close`."""

    def __init__(self, topics: dict[str, tuple[str, str]], *, node_name: str = 'jetson_edge_monitor'):
        self._context = rclpy.Context()
        rclpy.init(context=self._context)
        self._node = rclpy.create_node(node_name, context=self._context)
        self._lock = threading.Lock()
        self.logs = {topic: TopicLog() for topic in topics}
        self.diagnostics: dict[str, tuple[int, str, float]] = {}  # name -> (level, message, when)
        self.diagnostic_values: dict[str, dict[str, str]] = {}     # name -> latest key/values
        self.diagnostic_history: list[tuple[float, str, int, str]] = []
        for topic, (type_name, qos) in topics.items():
            profile = QoSProfile(depth=50, reliability=ReliabilityPolicy.BEST_EFFORT
                                 if qos == 'sensor' else ReliabilityPolicy.RELIABLE)
            self._node.create_subscription(message_type(type_name), topic,
                                           self._recorder(topic), profile)
        from diagnostic_msgs.msg import DiagnosticArray
        self._node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 50)
        self._executor = rclpy.executors.SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self._node)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _recorder(self, topic: str):
        log = self.logs[topic]

        def record(_msg) -> None:
            with self._lock:
                log.stamps.append(time.monotonic())
        return record

    def _on_diagnostics(self, msg) -> None:
        now = time.monotonic()
        with self._lock:
            for status in msg.status:
                level = status.level[0] if isinstance(status.level, bytes) else int(status.level)
                self.diagnostics[status.name] = (level, status.message, now)
                self.diagnostic_values[status.name] = {kv.key: kv.value for kv in status.values}
                self.diagnostic_history.append((now, status.name, level, status.message))

    def _spin(self) -> None:
        while not self._stop.is_set():
            self._executor.spin_once(timeout_sec=0.1)

    def snapshot(self) -> dict[str, list[float]]:
        with self._lock:
            return {topic: list(log.stamps) for topic, log in self.logs.items()}

    def latest_diagnostics(self) -> dict[str, tuple[int, str, float, dict[str, str]]]:
        """Each status name's latest (level, message, arrival time, values)."""
        with self._lock:
            return {name: (level, message, when, dict(self.diagnostic_values[name]))
                    for name, (level, message, when) in self.diagnostics.items()}

    def diagnostic_events(self, *, since: float = 0.0) -> list[tuple[float, str, int, str]]:
        """(arrival time, name, level, message) of every status that arrived from ``since``."""
        with self._lock:
            return [event for event in self.diagnostic_history if event[0] >= since]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._executor.shutdown()
        self._node.destroy_node()
        rclpy.try_shutdown(context=self._context)
