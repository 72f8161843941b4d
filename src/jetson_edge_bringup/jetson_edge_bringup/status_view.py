"""``jetson-edge status``'s core: what the running suite says, as one table model. Pure (no
rclpy), clocked by an injected monotonic clock.

Two inputs: ``/diagnostics`` (every node's own statuses, ``"<node name>: <task>"``) and
``/diagnostics_agg`` (the suite monitor's verdict per node, ``/jetson_edge/<key>``, and per
expected topic, ``/jetson_edge/<key><topic>`` with its measured rate). The monitor's verdict is
the node's level where it is fresh, since it also sees silence, rates and restarts; without the
monitor the node's own statuses stand and topic rates are unknown (the view says so). The
vitals come from the statuses of the tasks named in :data:`VITAL_TASKS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from jetson_edge_bringup.suite_monitor import ROOT, WatchedNode
from jetson_edge_common.diagnostics import Level

# The tasks whose values the vitals read (their nodes' DiagnosticsPublisher names).
PERCEPTION_TASK = 'inference'
RT_LOOP_TASK = 'control loop'
POLICY_TASK = 'thermal policy'
BOARD_TASK = 'board'
VITAL_TASKS = (PERCEPTION_TASK, RT_LOOP_TASK, POLICY_TASK, BOARD_TASK)
IMU_TOPIC_SUFFIX = 'imu/data'


@dataclass(frozen=True)
class Entry:
    """One DiagnosticStatus: level, message and values (as the strings they are sent as)."""
    name: str
    level: Level
    message: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeRow:
    key: str
    name: str
    level: Level
    message: str
    source: str         # 'monitor' (its verdict), 'node' (its own statuses) or '' (nothing)


@dataclass(frozen=True)
class TopicRow:
    node_key: str
    topic: str
    qos: str
    floor_hz: float     # the plan's rate floor; 0: only watched for arrivals
    rate_hz: float | None
    level: Level
    message: str


@dataclass(frozen=True)
class Vital:
    label: str
    value: str
    level: Level


@dataclass(frozen=True)
class StatusView:
    profile: str
    level: Level                # the suite's
    message: str
    nodes: list[NodeRow]
    topics: list[TopicRow]
    vitals: list[Vital]
    notes: list[str]            # what the view cannot show, and why
    heard: bool                 # anything arrived at all
    refresh: int                # how many views were built (the live view's counter)
    age_s: float                # seconds since the first message


class SuiteStatus:
    """Feed it the arrays of ``/diagnostics`` and ``/diagnostics_agg``; :meth:`view` builds the
    table model. ``fresh_s``: how long a status counts (nodes publish about once a second)."""

    def __init__(self, nodes: Iterable[WatchedNode], *, profile: str,
                 clock: Callable[[], float], fresh_s: float = 3.0) -> None:
        self._nodes = list(nodes)
        self._profile = profile
        self._clock = clock
        self._fresh_s = fresh_s
        self._started = clock()
        self._first: float | None = None
        self._own: dict[str, tuple[float, Entry]] = {}         # status name -> (when, entry)
        self._aggregate: dict[str, tuple[float, Entry]] = {}
        self._refresh = 0

    def diagnostics(self, entries: Iterable[Entry]) -> None:
        now = self._arrived()
        for entry in entries:
            self._own[entry.name] = (now, entry)

    def aggregate(self, entries: Iterable[Entry]) -> None:
        now = self._arrived()
        for entry in entries:
            self._aggregate[entry.name] = (now, entry)

    def _arrived(self) -> float:
        now = self._clock()
        if self._first is None:
            self._first = now
        return now

    @property
    def heard(self) -> bool:
        return self._first is not None

    # --- the view ---------------------------------------------------------------------------

    def view(self) -> StatusView:
        now = self._clock()
        self._refresh += 1
        monitor = self._fresh(self._aggregate, ROOT, now)
        nodes = [self._node_row(node, now) for node in self._nodes]
        topics = [self._topic_row(node, topic.topic, topic.qos, topic.rate_hz, now)
                  for node in self._nodes for topic in node.expects]
        notes = []
        if not self.heard:
            notes.append('nothing heard yet on /diagnostics: is the suite running, with this '
                         'ROS_DOMAIN_ID?')
        elif monitor is None:
            notes.append('no fresh /diagnostics_agg: the suite monitor is not running (or not '
                         'yet), so node levels are their own and topic rates are unknown')
        if monitor is not None:
            level, message = monitor.level, monitor.message
        else:
            level = max((n.level for n in nodes), default=Level.STALE)
            bad = [n for n in nodes if n.level != Level.OK]
            message = ('; '.join(f'{n.key}: {n.message}' for n in bad) if bad
                       else f'{len(nodes)} nodes OK')
        return StatusView(self._profile, Level(level), message, nodes, topics,
                          self._vitals(topics, now), notes, self.heard, self._refresh,
                          0.0 if self._first is None else now - self._first)

    def _fresh(self, table: dict[str, tuple[float, Entry]], name: str,
               now: float) -> Entry | None:
        found = table.get(name)
        return found[1] if found is not None and now - found[0] <= self._fresh_s else None

    def _own_tasks(self, node: WatchedNode, now: float) -> list[Entry]:
        prefix = f'{node.name}: '
        return [entry for when, entry in self._own.values()
                if entry.name.startswith(prefix) and now - when <= self._fresh_s]

    def _node_row(self, node: WatchedNode, now: float) -> NodeRow:
        verdict = self._fresh(self._aggregate, f'{ROOT}/{node.key}', now)
        if verdict is not None:
            return NodeRow(node.key, node.name, verdict.level, verdict.message, 'monitor')
        tasks = self._own_tasks(node, now)
        if tasks:
            level = max(t.level for t in tasks)
            problems = [f'{t.name.split(": ", 1)[1]}: {t.message}' for t in tasks
                        if t.level == level and level != Level.OK]
            return NodeRow(node.key, node.name, Level(level), '; '.join(problems) or 'OK', 'node')
        heard = [when for when, entry in self._own.values()
                 if entry.name.startswith(f'{node.name}: ')]
        if heard:
            return NodeRow(node.key, node.name, Level.ERROR,
                           f'silent for {now - max(heard):.1f} s', '')
        return NodeRow(node.key, node.name, Level.STALE, 'no answer yet', '')

    def _topic_row(self, node: WatchedNode, topic: str, qos: str, floor_hz: float,
                   now: float) -> TopicRow:
        verdict = self._fresh(self._aggregate, f'{ROOT}/{node.key}{topic}', now)
        if verdict is None:
            return TopicRow(node.key, topic, qos, floor_hz, None, Level.STALE, 'unknown')
        return TopicRow(node.key, topic, qos, floor_hz, _number(verdict.values.get('rate_hz')),
                        verdict.level, verdict.message)

    def _task(self, task: str, now: float) -> Entry | None:
        """The freshest status of ``task`` (whichever node publishes it)."""
        found = [(when, entry) for when, entry in self._own.values()
                 if entry.name.endswith(f': {task}') and now - when <= self._fresh_s]
        return max(found, key=lambda pair: pair[0])[1] if found else None

    def _vitals(self, topics: list[TopicRow], now: float) -> list[Vital]:
        vitals = []
        board = self._task(BOARD_TASK, now)
        temps = {k.split('.', 1)[1]: _number(v) for k, v in (board.values if board else {}).items()
                 if k.startswith('temp_c.') and _number(v) is not None}
        if temps:
            hottest = max(temps, key=temps.get)
            vitals.append(Vital('temperature', f'{temps[hottest]:.1f} C max ({hottest}), '
                                f'{len(temps)} zones', board.level))
        policy = self._task(POLICY_TASK, now)
        if policy is not None:
            vitals.append(Vital('power mode', f'{policy.values.get("power_mode_target", "?")}, '
                                f'thermal {policy.message}', policy.level))
        if board is not None and _number(board.values.get('power_total_mw')) is not None:
            vitals.append(Vital('power', f'{_number(board.values["power_total_mw"]) / 1e3:.2f} W',
                                board.level))
        perception = self._task(PERCEPTION_TASK, now)
        if perception is not None:
            v = perception.values
            vitals.append(Vital('perception', f'{v.get("processed_hz", "?")} fps of '
                                f'{v.get("received_hz", "?")} received, '
                                f'{v.get("dropped_total", "?")} dropped', perception.level))
        loop = self._task(RT_LOOP_TASK, now)
        if loop is not None:
            v = loop.values
            vitals.append(Vital('rt loop', f'p99 {v.get("latency_p99_us", "?")} us, '
                                f'{v.get("overruns_total", "?")} overruns, '
                                f'{v.get("missed_cycles_total", "?")} missed', loop.level))
        imu = [t for t in topics if t.topic.endswith(IMU_TOPIC_SUFFIX) and t.rate_hz is not None]
        if imu:
            vitals.append(Vital('imu rate', f'{imu[0].rate_hz:.1f} Hz (floor {imu[0].floor_hz:g})',
                                imu[0].level))
        return vitals


def _number(text) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None
