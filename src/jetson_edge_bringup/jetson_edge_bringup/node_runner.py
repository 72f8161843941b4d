"""``node_runner``: starts one node of the plan the way the plan says, under either runner.

``ros2 launch`` names it as each node's launch prefix and ``jetson-edge up`` runs the very same
command line (both get it from ``plan.process_command``; for a process group, the node is its
``node_container``), so nice, CPU affinity, environment and respawn reach the node identically::

    node_runner --key lidar --nice -5 --cpus 2,3 --env K=V --respawn-delay 1.0 \\
        --max-restarts 5 -- /ws/install/.../velodyne_node --ros-args ...

It applies the scheduling to itself (the node inherits it), starts the node in its own session
(signals reach it once, forwarded from here; the kernel stops it if the runner is killed), and
restarts it by ``respawn.RestartCounter``. Every start, exit and restart is one line on stderr
prefixed ``[node_runner]``; ``STARTED`` reads the start lines back. With ``--status-file`` the
runner also keeps its node's state in that file (:mod:`.runner_status`), which the suite
monitor publishes on ``/diagnostics``.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from jetson_edge_bringup.respawn import RespawnPolicy, RestartCounter, exit_status
from jetson_edge_bringup.runner_status import (EXITED, GIVEN_UP, RESTARTING, RUNNING, STOPPED,
                                               RunnerStatus, record, write_status)
from jetson_edge_common.dds import clean_stale_shared_memory
from jetson_edge_common.realtime import set_cpu_affinity

PREFIX = '[node_runner]'
STARTED = re.compile(r'\[node_runner\] started (\S+) \(pid (\d+)\)')
_PR_SET_PDEATHSIG = 1
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class RunnerOptions:
    """What the plan says about running one node, as ``node_runner`` options."""

    key: str
    nice: int = 0                                   # 0: left as inherited
    cpus: tuple[int, ...] = ()                      # empty: left as inherited
    env: dict[str, str] = field(default_factory=dict)
    policy: RespawnPolicy = RespawnPolicy()
    status_file: str = ''                           # empty: no status file

    def to_argv(self) -> list[str]:
        """The options, ending with ``--`` (the node's command follows)."""
        argv = ['--key', self.key]
        if self.nice:
            argv += ['--nice', str(self.nice)]
        if self.cpus:
            argv += ['--cpus', ','.join(map(str, self.cpus))]
        for name, value in self.env.items():
            argv += ['--env', f'{name}={value}']
        if self.policy.respawn:
            argv += ['--respawn-delay', f'{self.policy.delay_s:g}',
                     '--max-restarts', str(self.policy.max_restarts)]
        else:
            argv += ['--no-respawn']
        if self.status_file:
            argv += ['--status-file', self.status_file]
        return argv + ['--']


def _env_item(text: str) -> tuple[str, str]:
    name, sep, value = text.partition('=')
    if not sep or not name:
        raise argparse.ArgumentTypeError(f'expected NAME=VALUE, got {text!r}')
    return name, value


def _cpu_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(c) for c in text.split(',') if c.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected CPU numbers like 2,3, got {text!r}') from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='node_runner', description='Run one node of the jetson_edge plan with its nice, CPU '
        'affinity, environment and respawn policy: node_runner [options] -- COMMAND...')
    parser.add_argument('--key', required=True, help='the node\'s key in the profile (for reports)')
    parser.add_argument('--nice', type=int, default=0, help='niceness of the node (-20..19)')
    parser.add_argument('--cpus', type=_cpu_list, default=(), help='CPUs the node may run on, e.g. 2,3')
    parser.add_argument('--env', type=_env_item, action='append', default=[], metavar='NAME=VALUE',
                        help='environment variable set for the node (repeatable)')
    parser.add_argument('--no-respawn', action='store_true', help='run the node once')
    parser.add_argument('--respawn-delay', type=float, default=RespawnPolicy.delay_s,
                        help='seconds before the first restart (doubles with each quick death)')
    parser.add_argument('--max-restarts', type=int, default=RespawnPolicy.max_restarts,
                        help='quick deaths in a row before the node is given up')
    parser.add_argument('--status-file', default='',
                        help='keep the node\'s supervision state in this file (for the suite monitor)')
    parser.add_argument('command', nargs=argparse.REMAINDER, help='-- then the node\'s command')
    return parser


def parse_arguments(argv: Sequence[str]) -> tuple[RunnerOptions, list[str]]:
    """``node_runner`` options and the node's command; ``RunnerOptions.to_argv`` inverts it."""
    args = build_parser().parse_args(list(argv))
    command = list(args.command)
    if command[:1] == ['--']:
        command = command[1:]
    if not command:
        build_parser().error('no node command given after --')
    policy = RespawnPolicy(respawn=not args.no_respawn, delay_s=args.respawn_delay,
                           max_restarts=args.max_restarts)
    return RunnerOptions(key=args.key, nice=args.nice, cpus=args.cpus, env=dict(args.env),
                         policy=policy, status_file=args.status_file), command


def apply_scheduling(options: RunnerOptions) -> tuple[bool, str]:
    """Sets this process's niceness and CPU affinity (the node inherits them): ``(ok, message)``.

    A setting the machine refuses (no CAP_SYS_NICE for a negative nice, CPUs it does not have)
    is reported and the node runs without it: degraded, and said so.
    """
    done, problems = [], []
    if options.nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, options.nice)
            done.append(f'nice {options.nice}')
        except OSError as exc:
            problems.append(f'cannot set nice {options.nice} ({exc.strerror}; a negative nice needs '
                            f'root, CAP_SYS_NICE or a nice limit in /etc/security/limits.conf), '
                            f'running at nice {os.getpriority(os.PRIO_PROCESS, 0)}')
    if options.cpus:
        pinned = set_cpu_affinity(options.cpus)
        if pinned.ok:
            done.append(f'cpus {",".join(map(str, options.cpus))}')
        else:
            problems.append(pinned.message)
    if problems:
        return False, f'{options.key}: WARNING: ' + '; '.join(problems)
    return True, f'{options.key}: ' + (', '.join(done) if done else 'inherited scheduling')


def _die_with_parent() -> None:
    # If the runner is killed (SIGKILL from launch after its grace period), the node stops too.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def shell_code(code: int) -> int:
    """A returncode as a process exit status (killed by signal N -> 128 + N)."""
    return 128 - code if code < 0 else code


class NodeRunner:
    def __init__(self, options: RunnerOptions, command: list[str], *,
                 say: Callable[[str], None], clock: Callable[[], float] = time.monotonic) -> None:
        self.options = options
        self.command = command
        self.counter = RestartCounter(options.key, options.policy)
        self._say = say
        self._clock = clock
        self._stop = threading.Event()
        self._child: subprocess.Popen | None = None
        self.status = RunnerStatus(options.key, runner_pid=os.getpid())

    def _report(self, message: str, *, state: str | None = None) -> None:
        """Says ``message`` and, with a status file, records it with the node's state."""
        self._say(message)
        if not self.options.status_file:
            return
        if state is not None:
            self.status.state = state
        self.status.starts = self.counter.starts
        record(self.status, message)
        try:
            write_status(self.options.status_file, self.status)
        except OSError as exc:  # the node runs on; the monitor will see a stale state
            self._say(f'WARNING: cannot write {self.options.status_file}: {exc}')

    def forward(self, signum: int, _frame=None) -> None:
        """Signal handler: the run ends; the node gets the signal (once, from here)."""
        self._stop.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    def _start(self) -> subprocess.Popen | None:
        env = dict(os.environ)
        env.update(self.options.env)
        try:
            child = subprocess.Popen(self.command, env=env, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        except OSError as exc:
            self._say(f'ERROR: cannot start {self.options.key} ({" ".join(self.command)}): {exc}')
            return None
        self._child = child
        self.counter.started()
        self.status.node_pid, self.status.delay_s = child.pid, 0.0
        again = f' (restart {self.counter.restarts})' if self.counter.restarts else ''
        self._report(f'started {self.options.key} (pid {child.pid}){again}: '
                     f'{" ".join(self.command)}', state=RUNNING)
        if self._stop.is_set():  # a stop that came while it was starting
            child.send_signal(signal.SIGINT)
        return child

    def run(self) -> int:
        """Runs the node until it is stopped or given up; returns the runner's exit status."""
        _, message = apply_scheduling(self.options)  # degraded settings are reported, not fatal
        self._say(message)
        while True:
            started_at = self._clock()
            child = self._start()
            code = 127 if child is None else child.wait()
            self._child = None
            self.status.node_pid = 0
            if child is not None:
                self.status.last_exit = exit_status(code)
            if self._stop.is_set():
                self._report(f'{self.options.key} stopped with exit {shell_code(code)}',
                             state=STOPPED)
                return shell_code(code)
            verdict = self.counter.exited(code, ran_s=self._clock() - started_at)
            self.status.delay_s = verdict.delay_s
            state = RESTARTING if verdict.restart else GIVEN_UP if verdict.failed else EXITED
            self._report(('ERROR: ' if verdict.failed else '') + verdict.message, state=state)
            if not verdict.restart:
                return (shell_code(code) or 1) if verdict.failed else shell_code(code)
            if code < 0:  # killed: its middleware could not release what it shared
                self._say(clean_stale_shared_memory())
            if self._stop.wait(verdict.delay_s):
                return shell_code(code)


def main(argv: Sequence[str] | None = None) -> int:
    options, command = parse_arguments(sys.argv[1:] if argv is None else argv)

    def say(message: str) -> None:
        print(f'{PREFIX} {message}', file=sys.stderr, flush=True)

    runner = NodeRunner(options, command, say=say)
    for signum in _FORWARDED:
        signal.signal(signum, runner.forward)
    return runner.run()


if __name__ == '__main__':
    sys.exit(main())
