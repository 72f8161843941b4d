"""The suite monitor's core: from arrival times and runner states to one verdict per node and
per expected topic. Pure (no rclpy), clocked by an injected monotonic clock.

A node is watched through three signals: its own ``/diagnostics`` statuses (``"<name>: task"``),
the topics the plan expects from it, and its ``node_runner``'s state. Silence is what a hung,
stopped or dead node shows: no status and no message for ``silence_s`` (a slow topic gets
``missed_periods`` of its floor rate, when that is longer) is an ERROR naming the node. A topic
measured over ``rate_window_s`` below ``rate_share`` of the plan's rate is a WARN (several plan
rates are the nominal rate, and a window of a few seconds counts one message more or less). After a (re)start a node
has ``startup_grace_s`` to be heard from; a restart stays a WARN for ``restart_hold_s``.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Callable, Iterable

from jetson_edge_bringup.runner_status import GIVEN_UP, RESTARTING, RUNNING, RunnerStatus
from jetson_edge_common.diagnostics import Level

ROOT = '/jetson_edge'
DIAGNOSTICS = '/diagnostics'


@dataclass(frozen=True)
class ExpectedTopic:
    topic: str          # absolute name
    type: str
    rate_hz: float      # the plan's floor; 0: no rate expected (only watched for arrivals)
    qos: str = 'reliable'


@dataclass(frozen=True)
class WatchedNode:
    key: str
    name: str           # ROS node name: its statuses are "<name>: <task>"
    expects: tuple[ExpectedTopic, ...] = ()
    status_file: str = ''


@dataclass(frozen=True)
class MonitorConfig:
    silence_s: float = 1.5
    missed_periods: float = 3.0
    rate_window_s: float = 5.0
    rate_share: float = 0.8
    startup_grace_s: float = 30.0
    restart_hold_s: float = 10.0


@dataclass(frozen=True)
class Report:
    name: str           # /jetson_edge, /jetson_edge/<key>, /jetson_edge/<key><topic>
    level: Level
    message: str
    values: dict = field(default_factory=dict)


def watched_nodes(document: dict) -> list[WatchedNode]:
    """The nodes of a monitored-plan document (``plan.monitored_document``)."""
    nodes = []
    for entry in document.get('nodes', []):
        expects = tuple(ExpectedTopic(topic, spec['type'], float(spec.get('rate_hz', 0)),
                                      spec.get('qos', 'reliable'))
                        for topic, spec in (entry.get('expects') or {}).items())
        nodes.append(WatchedNode(entry['key'], entry['name'], expects,
                                 entry.get('status_file', '')))
    return nodes


class _Stream:
    """Arrival times of one signal (a topic, or a node's diagnostics)."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.first: float | None = None
        self.last: float | None = None
        self.recent: collections.deque[float] = collections.deque()

    def arrived(self, now: float) -> None:
        if self.first is None:
            self.first = now
        self.last = now
        self.recent.append(now)
        while self.recent and self.recent[0] < now - self.window_s:
            self.recent.popleft()

    def reset(self) -> None:
        self.first = self.last = None
        self.recent.clear()

    def rate(self, now: float) -> float | None:
        """Messages per second over the window; None until the stream was up a whole window."""
        if self.first is None or now - self.first < self.window_s:
            return None
        return sum(t >= now - self.window_s for t in self.recent) / self.window_s


class _NodeState:
    def __init__(self, node: WatchedNode, config: MonitorConfig, now: float) -> None:
        self.node = node
        self.origin = now                       # its (re)start as this monitor saw it
        self.restarted_at: float | None = None
        self.starts_seen = 0
        self.runner: RunnerStatus | None = None
        self.runner_problem = ''
        self.diagnostics = _Stream(config.rate_window_s)
        self.tasks: dict[str, tuple[Level, str]] = {}
        self.topics = {t.topic: _Stream(config.rate_window_s) for t in node.expects}


class SuiteMonitor:
    """Feed it arrivals and runner states; :meth:`evaluate` returns the reports.

    Not thread-safe: one owner (the node's executor thread).
    """

    def __init__(self, nodes: Iterable[WatchedNode], config: MonitorConfig = MonitorConfig(), *,
                 clock: Callable[[], float]) -> None:
        self.config = config
        self._clock = clock
        now = clock()
        self._nodes = {n.key: _NodeState(n, config, now) for n in nodes}
        self._by_name = {s.node.name: s for s in self._nodes.values()}
        self._by_topic: dict[str, list[_Stream]] = collections.defaultdict(list)
        self._unwatchable: dict[str, str] = {}
        for state in self._nodes.values():
            for topic, stream in state.topics.items():
                self._by_topic[topic].append(stream)

    @property
    def nodes(self) -> list[WatchedNode]:
        return [s.node for s in self._nodes.values()]

    def topics(self) -> list[ExpectedTopic]:
        return [t for s in self._nodes.values() for t in s.node.expects]

    # --- input ------------------------------------------------------------------------------

    def status_arrived(self, status_name: str, level: int, message: str) -> None:
        """One ``/diagnostics`` status; ignored unless its name is ``"<watched name>: task"``."""
        name, sep, task = status_name.partition(': ')
        state = self._by_name.get(name) if sep else None
        if state is None:
            return
        state.diagnostics.arrived(self._clock())
        state.tasks[task] = (Level(min(int(level), Level.STALE)), message)

    def topic_arrived(self, topic: str) -> None:
        now = self._clock()
        for stream in self._by_topic.get(topic, ()):
            stream.arrived(now)

    def topic_unwatchable(self, topic: str, reason: str) -> None:
        """The monitor cannot subscribe to ``topic`` (its type does not load): an ERROR."""
        self._unwatchable[topic] = reason

    def runner_update(self, key: str, status: RunnerStatus | None, *, problem: str = '') -> None:
        """The latest state of ``key``'s runner (None: no status yet; ``problem``: why it could
        not be read). A start the monitor had not seen begins a new grace period."""
        state = self._nodes[key]
        state.runner, state.runner_problem = status, problem
        if status is None:
            return
        if status.starts > state.starts_seen:
            if state.starts_seen:   # a start after one this monitor saw: a restart
                state.restarted_at = self._clock()
                state.origin = self._clock()
                state.diagnostics.reset()
                state.tasks.clear()
                for stream in state.topics.values():
                    stream.reset()
            state.starts_seen = status.starts

    # --- output -----------------------------------------------------------------------------

    def evaluate(self) -> list[Report]:
        """The suite, then per node its entry and its topics' entries."""
        now = self._clock()
        reports, nodes = [], []
        for state in self._nodes.values():
            topic_reports = [self._topic_report(state, t, now) for t in state.node.expects]
            node = self._node_report(state, topic_reports, now)
            nodes.append(node)
            reports += [node, *topic_reports]
        return [self._suite_report(nodes), *reports]

    def findings(self) -> Report:
        """What only the monitor can tell (silence, rates, restarts), without the levels the
        nodes report about themselves: the ``/diagnostics`` summary naming each node."""
        now = self._clock()
        found = []
        for state in self._nodes.values():
            topics = [self._topic_report(state, t, now) for t in state.node.expects]
            node = self._node_report(state, topics, now, own_tasks=False)
            if node.level != Level.OK:
                found.append(node)
        return self._suite_report(found, total=len(self._nodes))

    def _suite_report(self, nodes: list[Report], *, total: int | None = None) -> Report:
        # a node still starting (STALE) greys the suite only when nothing is worse
        level = max((n.level for n in nodes if n.level != Level.STALE), default=Level.OK)
        if level == Level.OK and any(n.level == Level.STALE for n in nodes):
            level = Level.STALE
        bad = [n for n in nodes if n.level != Level.OK]
        count = len(nodes) if total is None else total
        if not bad:
            return Report(ROOT, Level.OK, f'{count} nodes OK', {'nodes': count})
        message = '; '.join(f'{n.name.rsplit("/", 1)[-1]}: {n.message}' for n in bad)
        return Report(ROOT, level, message, {'nodes': count, 'not_ok': len(bad)})

    def _bound(self, topic: ExpectedTopic | None) -> float:
        if topic is None or topic.rate_hz <= 0:
            return self.config.silence_s
        return max(self.config.silence_s, self.config.missed_periods / topic.rate_hz)

    def _silence(self, state: _NodeState, stream: _Stream, bound: float,
                 now: float) -> tuple[Level, str]:
        """OK, STALE (starting, within the grace) or ERROR with what is wrong."""
        if stream.last is None:
            since = now - state.origin
            if since < self.config.startup_grace_s:
                return Level.STALE, f'nothing yet ({since:.1f} s since start)'
            return Level.ERROR, f'nothing for {since:.1f} s since start'
        age = now - stream.last
        if age > bound:
            return Level.ERROR, f'silent for {age:.1f} s'
        return Level.OK, ''

    def _topic_report(self, state: _NodeState, topic: ExpectedTopic, now: float) -> Report:
        stream = state.topics[topic.topic]
        name = f'{ROOT}/{state.node.key}{topic.topic}'
        rate = stream.rate(now)
        values = {'type': topic.type, 'qos': topic.qos, 'floor_hz': topic.rate_hz,
                  'rate_hz': '' if rate is None else round(rate, 2),
                  'age_s': '' if stream.last is None else round(now - stream.last, 2)}
        if topic.topic in self._unwatchable:
            return Report(name, Level.ERROR, f'not watched: {self._unwatchable[topic.topic]}',
                          values)
        level, message = self._silence(state, stream, self._bound(topic), now)
        if level != Level.OK:
            return Report(name, level, message, values)
        if rate is not None and rate < self.config.rate_share * topic.rate_hz:
            return Report(name, Level.WARN, f'{rate:.1f} Hz, below the floor of '
                          f'{self.config.rate_share * topic.rate_hz:g} Hz '
                          f'({self.config.rate_share:.0%} of {topic.rate_hz:g} Hz)', values)
        return Report(name, Level.OK, 'OK' if rate is None else f'{rate:.1f} Hz', values)

    def _node_report(self, state: _NodeState, topics: list[Report], now: float, *,
                     own_tasks: bool = True) -> Report:
        node, runner = state.node, state.runner
        name = f'{ROOT}/{node.key}'
        values = {'node': node.name,
                  'diagnostics_age_s': ('' if state.diagnostics.last is None
                                        else round(now - state.diagnostics.last, 2))}
        if runner is not None:
            values.update(pid=runner.node_pid, starts=runner.starts, restarts=runner.restarts,
                          last_exit=runner.last_exit, runner=runner.state)
        if runner is not None and runner.state == RESTARTING:
            return Report(name, Level.ERROR, f'down: {runner.message}', values)
        if runner is not None and runner.state != RUNNING:
            return Report(name, Level.ERROR, f'not running: {runner.message}', values)
        diag_level, diag_message = self._silence(state, state.diagnostics,
                                                 self.config.silence_s, now)
        silent = [DIAGNOSTICS] if diag_level == Level.ERROR else []
        silent += [t.topic.lstrip('/') for t in node.expects if t.topic not in self._unwatchable
                   and self._silence(state, state.topics[t.topic], self._bound(t), now)[0]
                   == Level.ERROR]
        if silent:
            age = min((now - s.last for s in [state.diagnostics, *state.topics.values()]
                       if s.last is not None), default=now - state.origin)
            return Report(name, Level.ERROR, f'silent for {age:.1f} s (nothing on '
                          f'{", ".join(silent)}): hung, stopped or dead', values)
        if diag_level == Level.STALE or any(t.level == Level.STALE for t in topics):
            return Report(name, Level.STALE, f'starting: waiting for its first messages '
                          f'({now - state.origin:.1f} s)', values)
        problems = [(t.level, f'{t.name[len(name):].lstrip("/")}: {t.message}')
                    for t in topics if t.level != Level.OK]
        if own_tasks:
            problems += [(level, f'{task}: {message}')
                         for task, (level, message) in state.tasks.items() if level != Level.OK]
        if state.restarted_at is not None and now - state.restarted_at < self.config.restart_hold_s:
            last = runner.last_exit if runner is not None else 'an exit'
            problems.append((Level.WARN, f'restarted {now - state.restarted_at:.1f} s ago '
                                         f'after {last}'))
        if not problems:
            return Report(name, Level.OK, 'OK', values)
        level = max(level for level, _ in problems)
        return Report(name, level, '; '.join(m for lvl, m in problems if lvl == level), values)


def runner_report(status: RunnerStatus | None, key: str, *, problem: str = '') -> tuple[Level, str]:
    """The runner's own status for ``/diagnostics`` (``node_runner: <key>``)."""
    if problem:
        return Level.WARN, problem
    if status is None:
        return Level.STALE, f'no status from the runner of {key} yet'
    restarts = f', {status.restarts} restart(s), last exit {status.last_exit}' \
        if status.restarts else ''
    if status.state == RUNNING:
        return Level.OK, f'{key} running (pid {status.node_pid}){restarts}'
    if status.state == RESTARTING:
        return Level.WARN, status.message
    if status.state == GIVEN_UP:
        return Level.ERROR, status.message
    return Level.OK, status.message
