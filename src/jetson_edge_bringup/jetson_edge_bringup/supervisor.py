"""The process supervisor behind ``jetson-edge up``: what ``ros2 launch`` does, where PyPI has no
``launch``.

One child process per process of the plan (a node alone, or a process group's container), each
the ``plan.process_command``: ``node_runner``, which applies the plan's scheduling and environment
and restarts the process by its respawn policy, exactly as under ``ros2 launch``. Each child has
its own session (a terminal's Ctrl-C reaches only the supervisor, which stops the children in
order) and each output line is prefixed with the node's or group's key. A runner that ends (its
process given up, or a one-shot node done) is not started again: a non-zero end stops the whole
run with a non-zero exit.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

from jetson_edge_bringup.node_runner import STARTED
from jetson_edge_bringup.plan import Plan, ProcessPlan, process_command

STOP_GRACE_S = 10.0       # SIGINT first, SIGKILL after this long

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # If the supervisor dies without cleaning up (SIGKILL), the kernel stops the child too.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def commands_for(plan: Plan) -> dict[str, list[str]]:
    """Each process's command line, by key: ``plan.process_command``, the one ``ros2 launch``
    runs too."""
    return {process.key: process_command(process).argv for process in plan.processes()}


def _described(process: ProcessPlan) -> str:
    if not process.composed:
        return process.key
    return f'{process.key} ({" + ".join(m.key for m in process.members)})'


@dataclass
class Child:
    node: ProcessPlan                          # a node alone, or a group's members
    process: subprocess.Popen | None = None    # its runner
    node_pid: int | None = None                # the node itself, as its runner last reported
    starts: int = 0                            # of the node, as its runner reported them
    finished: bool = False                     # its runner has ended
    reader: threading.Thread | None = None
    exit_codes: list[int] = field(default_factory=list)

    @property
    def restarts(self) -> int:
        return max(0, self.starts - 1)


class Supervisor:
    def __init__(self, plan: Plan, command_for: Callable[[ProcessPlan], list[str]], *,
                 out: TextIO = sys.stdout, clock: Callable[[], float] = time.monotonic,
                 base_env: dict[str, str] | None = None) -> None:
        self._plan = plan
        self._command_for = command_for
        self._out = out
        self._clock = clock
        self._env = dict(os.environ if base_env is None else base_env)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._failure: str | None = None
        self.children = [Child(process) for process in plan.processes()]
        width = max((len(c.node.key) for c in self.children), default=0)
        self._width = width

    # --- output ---------------------------------------------------------------------------

    def say(self, message: str, *, who: str = 'supervisor') -> None:
        with self._lock:
            self._out.write(f'[{who:<{self._width}}] {message}\n')
            self._out.flush()

    def _pump(self, child: Child, stream) -> None:
        for raw in iter(stream.readline, b''):
            line = raw.decode(errors='replace').rstrip('\n')
            started = STARTED.search(line)
            if started:
                child.node_pid = int(started.group(2))
                child.starts += 1
            self.say(line, who=child.node.key)
        stream.close()

    # --- lifecycle ------------------------------------------------------------------------

    def _start(self, child: Child) -> None:
        node = child.node
        env = dict(self._env)
        env['PYTHONUNBUFFERED'] = '1'
        env['RCUTILS_COLORIZED_OUTPUT'] = env.get('RCUTILS_COLORIZED_OUTPUT', '0')
        cmd = self._command_for(node)
        try:
            child.process = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True, preexec_fn=_die_with_parent)
        except OSError as exc:
            child.finished = True
            self._fail(f'cannot start {node.key} ({" ".join(cmd)}): {exc}')
            return
        child.reader = threading.Thread(target=self._pump, args=(child, child.process.stdout),
                                        daemon=True)
        child.reader.start()
        self.say(f'running {node.key} (runner pid {child.process.pid}): {" ".join(cmd)}')

    def _ended(self, child: Child, code: int) -> None:
        child.exit_codes.append(code)
        child.finished = True
        if code != 0:
            self._fail(f'{child.node.key} exited with code {code} (its runner gave up on it, '
                       f'or respawn is off)')
        else:
            self.say(f'{child.node.key} exited with code 0')

    def _fail(self, reason: str) -> None:
        self.say(f'ERROR: {reason}')
        if self._failure is None:
            self._failure = reason
        self._stop.set()

    def _poll(self) -> None:
        for child in self.children:
            if child.finished or child.process is None:
                continue
            code = child.process.poll()
            if code is not None:
                if child.reader:
                    child.reader.join(timeout=1.0)
                child.process = None
                self._ended(child, code)

    def stop(self) -> None:
        """Asks the run to end (safe to call from a signal handler or another thread)."""
        self._stop.set()

    def _shutdown(self) -> None:
        running = [c for c in self.children if c.process is not None and c.process.poll() is None]
        for child in running:
            self.say(f'stopping {child.node.key} (SIGINT)')
            try:
                child.process.send_signal(signal.SIGINT)
            except ProcessLookupError:
                pass
        deadline = self._clock() + STOP_GRACE_S
        for child in running:
            try:
                child.process.wait(timeout=max(0.0, deadline - self._clock()))
            except subprocess.TimeoutExpired:
                self.say(f'{child.node.key} did not stop within {STOP_GRACE_S:.0f} s: SIGKILL')
                child.process.kill()
                child.process.wait()
        for child in self.children:
            if child.reader is not None:
                child.reader.join(timeout=2.0)

    def run(self, *, duration_s: float | None = None,
            before_stop: Callable[[], None] | None = None,
            when_up: Callable[[], None] | None = None) -> int:
        """Starts every node and supervises until stopped, ``duration_s`` passes or a node fails.

        ``when_up`` is called once, when every node's runner has reported its node started (the
        end of start-up, where a user is told where to look).

        ``before_stop`` is called once, while every node still runs, just before they are
        stopped (what a node reports while the others shut down is not the run's state).
        Returns 0 on a clean stop, 1 when a node's runner ended non-zero (the node kept dying,
        or a non-respawning one failed).
        """
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: self._stop.set())
        try:
            self.say(f'profile {self._plan.profile!r}: starting {len(self.children)} '
                     f'process(es): {", ".join(_described(c.node) for c in self.children)}')
            for child in self.children:
                self._start(child)
            end = None if duration_s is None else self._clock() + duration_s
            while not self._stop.is_set():
                self._poll()
                if when_up is not None and all(c.starts for c in self.children):
                    when_up()
                    when_up = None
                if end is not None and self._clock() >= end:
                    self.say(f'duration of {duration_s:g} s reached')
                    break
                if self.children and all(c.finished for c in self.children):
                    self.say('every node has exited')
                    break
                self._stop.wait(0.1)
        finally:
            try:
                if before_stop is not None:
                    before_stop()
            finally:
                self._shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if self._failure:
            self.say(f'exiting with an error: {self._failure}')
            return 1
        self.say('all nodes stopped')
        return 0
