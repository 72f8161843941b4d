"""What ``node_runner`` tells the suite monitor: its node's supervision state, as a small file.

A runner holds no ROS node (a bare rclpy process is about 88 MB, one per node would double the
suite's memory); it rewrites one JSON file per node on every start, exit, back-off and
give-up (written whole and renamed into place, so a reader never sees half of it). The suite
monitor reads these files and publishes them on ``/diagnostics`` as ``node_runner: <key>``.
A file keeps the state, so a monitor that starts late or restarts still learns it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

RUNNING = 'running'          # the node process is up
RESTARTING = 'restarting'    # it exited; the runner waits out the back-off before starting it
GIVEN_UP = 'given_up'        # it kept dying (or failed with respawn off): the runner has ended
EXITED = 'exited'            # it exited with code 0 and respawn is off
STOPPED = 'stopped'          # the run was stopped (Ctrl-C, SIGTERM): it is shutting down
STATES = (RUNNING, RESTARTING, GIVEN_UP, EXITED, STOPPED)
KEPT_EVENTS = 10


@dataclass
class RunnerStatus:
    key: str
    state: str = RUNNING
    runner_pid: int = 0
    node_pid: int = 0
    starts: int = 0
    last_exit: str = ''          # 'code 3' / 'signal 9 (SIGKILL)'; '' before the first exit
    message: str = ''            # the runner's latest line
    delay_s: float = 0.0         # back-off before the next start (state restarting)
    events: list[tuple[float, str]] = field(default_factory=list)   # (wall time, line)

    @property
    def restarts(self) -> int:
        return max(0, self.starts - 1)


class StatusFileError(ValueError):
    """A status file that is not what a runner writes."""


def record(status: RunnerStatus, message: str, *, clock=time.time) -> None:
    """Sets the latest message and appends it to the recent events."""
    status.message = message
    status.events = [*status.events, (clock(), message)][-KEPT_EVENTS:]


def write_status(path: str | os.PathLike, status: RunnerStatus) -> None:
    """Writes ``status`` to ``path`` atomically (a reader sees the old or the new file)."""
    path = Path(path)
    temporary = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    temporary.write_text(json.dumps(asdict(status)))
    os.replace(temporary, path)


def read_status(path: str | os.PathLike) -> RunnerStatus | None:
    """The status in ``path``; None when there is no file yet. Raises :class:`StatusFileError`
    for a file that does not parse as a runner's status (and OSError when it cannot be read)."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        status = RunnerStatus(**data)
    except (ValueError, TypeError) as exc:
        raise StatusFileError(f'{path}: not a node_runner status ({exc})') from None
    if status.state not in STATES:
        raise StatusFileError(f'{path}: unknown state {status.state!r}')
    status.events = [(float(when), str(line)) for when, line in status.events]
    return status
