"""When a node that exited is started again: the plan's respawn policy as a pure, clocked core.

A node that dies is restarted after ``delay_s``, doubled with every quick death in a row (one
within ``STABLE_AFTER_S`` of its start) up to ``MAX_BACKOFF_S``; after ``max_restarts`` quick
deaths in a row it is given up. ``node_runner`` applies this to its node under both runners
(``ros2 launch`` and ``jetson-edge up``) and reports each decision in the words of ``Verdict``.
"""

from __future__ import annotations

from dataclasses import dataclass

STABLE_AFTER_S = 30.0     # a node that ran this long before dying starts its back-off afresh
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class RespawnPolicy:
    respawn: bool = True
    delay_s: float = 1.0
    max_restarts: int = 5


@dataclass(frozen=True)
class Verdict:
    restart: bool
    delay_s: float       # before the restart (0 when there is none)
    attempt: int         # quick deaths in a row, this one included
    message: str         # what the runner reports
    failed: bool         # the node is given up (or exited non-zero with respawn off)


def exit_status(code: int) -> str:
    """``code 3`` or ``signal 9 (SIGKILL)`` from a returncode (negative: killed by a signal)."""
    if code >= 0:
        return f'code {code}'
    import signal

    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = 'unknown'
    return f'signal {-code} ({name})'


class RestartCounter:
    """Counts a node's starts and deaths and decides each restart. Not thread-safe: one owner."""

    def __init__(self, key: str, policy: RespawnPolicy) -> None:
        self.key = key
        self.policy = policy
        self.starts = 0
        self.quick_deaths = 0

    @property
    def restarts(self) -> int:
        return max(0, self.starts - 1)

    def started(self) -> None:
        self.starts += 1

    def exited(self, code: int, *, ran_s: float) -> Verdict:
        """The decision after the node exited with ``code`` having run ``ran_s`` seconds."""
        status = exit_status(code)
        if not self.policy.respawn:
            return Verdict(False, 0.0, 0, f'{self.key} exited with {status} (respawn off)',
                           failed=code != 0)
        self.quick_deaths = 1 if ran_s >= STABLE_AFTER_S else self.quick_deaths + 1
        if self.quick_deaths > self.policy.max_restarts:
            return Verdict(False, 0.0, self.quick_deaths,
                           f'{self.key} keeps dying: {self.policy.max_restarts} restarts in a row '
                           f'failed (last exit with {status})', failed=True)
        delay = min(self.policy.delay_s * 2 ** (self.quick_deaths - 1), MAX_BACKOFF_S)
        return Verdict(True, delay, self.quick_deaths,
                       f'{self.key} exited with {status}; restarting in {delay:.1f} s '
                       f'(attempt {self.quick_deaths} of {self.policy.max_restarts})', failed=False)
