"""Health reporting on ``/diagnostics``.

The pure part (:class:`Level`, :class:`Status`, :func:`worst`, :class:`Staleness`) builds what
a node wants to say; :class:`DiagnosticsPublisher` turns it into ``DiagnosticArray`` messages on
a timer, the way diagnostic_updater does in C++ (which PyPI does not ship).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any, Callable


class Level(enum.IntEnum):
    OK = 0
    WARN = 1
    ERROR = 2
    STALE = 3


@dataclass
class Status:
    level: Level
    message: str
    values: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def ok(cls, message: str = 'OK', **values: Any) -> 'Status':
        return cls(Level.OK, message, values)

    @classmethod
    def warn(cls, message: str, **values: Any) -> 'Status':
        return cls(Level.WARN, message, values)

    @classmethod
    def error(cls, message: str, **values: Any) -> 'Status':
        return cls(Level.ERROR, message, values)


def worst(*statuses: Status) -> Status:
    """Merges statuses: the highest level wins, messages of that level are joined, values merged."""
    level = max((s.level for s in statuses), default=Level.OK)
    messages = [s.message for s in statuses if s.level == level and s.message]
    values: dict[str, Any] = {}
    for s in statuses:
        values.update(s.values)
    return Status(Level(level), '; '.join(messages) or 'OK', values)


def threshold_level(value: float, *, warn: float, error: float) -> Level:
    """OK below ``warn``, WARN from ``warn``, ERROR from ``error`` (for higher-is-worse values)."""
    if value >= error:
        return Level.ERROR
    if value >= warn:
        return Level.WARN
    return Level.OK


class Staleness:
    """Tracks when something last happened and how old that is."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.last: float | None = None

    def touch(self) -> None:
        self.last = self._clock()

    def age(self) -> float:
        """Seconds since the last touch; infinity when never touched."""
        return float('inf') if self.last is None else self._clock() - self.last


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f'{value:.6g}'
    return str(value)


class DiagnosticsPublisher:
    """Publishes the node's status tasks on ``/diagnostics`` every ``period_s`` seconds.

    Each task is ``fn() -> Status``; it appears as ``"<node name>: <task name>"`` with the
    given ``hardware_id``. A task that raises is reported as ERROR with the exception text
    (and logged), so a bug in a status function is visible rather than silencing the node.
    """

    def __init__(self, node, *, hardware_id: str = '', period_s: float = 1.0,
                 topic: str = '/diagnostics') -> None:
        from diagnostic_msgs.msg import DiagnosticArray

        from jetson_edge_common import qos

        self._node = node
        self._hardware_id = hardware_id
        self._tasks: list[tuple[str, Callable[[], Status]]] = []
        self._fatal: str | None = None
        self._pub = node.create_publisher(DiagnosticArray, topic, qos.DIAGNOSTICS)
        self._timer = node.create_timer(period_s, self.publish)

    def add(self, name: str, fn: Callable[[], Status]) -> None:
        self._tasks.append((name, fn))

    def set_fatal(self, message: str) -> None:
        """From now on every task reports ERROR with ``message`` (the node is about to exit)."""
        self._fatal = message

    def statuses(self) -> list[tuple[str, Status]]:
        """What the next message will say: each task's name and status."""
        result = []
        for name, fn in self._tasks:
            try:
                status = fn()
            except Exception as exc:  # a status function must never take the node down
                self._node.get_logger().error(f'diagnostic task {name!r} failed: {exc!r}')
                status = Status.error(f'status check failed: {exc}')
            if self._fatal is not None:
                status = Status(Level.ERROR, self._fatal, status.values)
            result.append((name, status))
        return result

    def publish(self) -> None:
        from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

        msg = DiagnosticArray()
        msg.header.stamp = self._node.get_clock().now().to_msg()
        for name, status in self.statuses():
            entry = DiagnosticStatus(
                level=bytes([int(status.level)]),
                name=f'{self._node.get_name()}: {name}',
                message=status.message,
                hardware_id=self._hardware_id,
                values=[KeyValue(key=str(k), value=format_value(v)) for k, v in status.values.items()],
            )
            msg.status.append(entry)
        self._pub.publish(msg)

    def flush(self, *, timeout_s: float) -> bool:
        """Publish now and wait until the subscribers have acknowledged it (the topic is
        reliable): the last word of a node about to exit. False if that timed out."""
        from rclpy.duration import Duration

        self.publish()
        return self._pub.wait_for_all_acked(Duration(seconds=timeout_s))



def guard_threads(node, diagnostics: DiagnosticsPublisher):
    """Makes every thread of ``node``'s process fatal on an escaping exception (the thread
    contract of :mod:`jetson_edge_common.thread_guard`): the death is logged, every diagnostics
    task of the node turns ERROR naming the thread and the exception, that is published and
    waited for, and the process ends non-zero so that respawn restarts it. Returns the
    :class:`~jetson_edge_common.thread_guard.ThreadGuard`."""
    from jetson_edge_common.thread_guard import EXIT_THREAD_DIED, ThreadDeath, ThreadGuard

    def on_death(death: ThreadDeath) -> None:
        diagnostics.set_fatal(f'{death.message}; the node exits to be restarted')
        node.get_logger().error(f'{death.message}; exiting (code {EXIT_THREAD_DIED}) so '
                                f'that respawn restarts the node')
        diagnostics.flush(timeout_s=1.0)

    return ThreadGuard(on_death)
