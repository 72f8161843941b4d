"""The process supervisor behind ``jetson-edge up``: what ``ros2 launch`` does, where PyPI has no
``launch``.

One child process per node, each in its own session (a terminal's Ctrl-C reaches only the
supervisor, which stops the children in order), each output line prefixed with the node's key.
A node that exits is restarted after a back-off that doubles with every quick death; one that
keeps dying (``max_restarts`` quick deaths in a row) stops the whole run with a non-zero exit.
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

from jetson_edge_bringup.plan import NodePlan, Plan

STABLE_AFTER_S = 30.0     # a node that ran this long before dying starts its back-off afresh
MAX_BACKOFF_S = 30.0
STOP_GRACE_S = 10.0       # SIGINT first, SIGKILL after this long

_PR_SET_PDEATHSIG = 1


def _child_setup(node: NodePlan) -> Callable[[], None]:
    def setup() -> None:
        # If the supervisor dies without cleaning up (SIGKILL), the kernel stops the child too.
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
        if node.nice:
            os.nice(node.nice)
        if node.cpu_affinity:
            os.sched_setaffinity(0, node.cpu_affinity)
    return setup


@dataclass
class Child:
    node: NodePlan
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = None
    restarts: int = 0
    finished: bool = False    # exited and will not be restarted
    reader: threading.Thread | None = None
    exit_codes: list[int] = field(default_factory=list)


class Supervisor:
    def __init__(self, plan: Plan, command_for: Callable[[NodePlan], list[str]], *,
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
        self.children = [Child(node) for node in plan.nodes]
        width = max((len(n.key) for n in plan.nodes), default=0)
        self._width = width

    # --- output ---------------------------------------------------------------------------

    def say(self, message: str, *, who: str = 'supervisor') -> None:
        with self._lock:
            self._out.write(f'[{who:<{self._width}}] {message}\n')
            self._out.flush()

    def _pump(self, child: Child, stream) -> None:
        for raw in iter(stream.readline, b''):
            self.say(raw.decode(errors='replace').rstrip('\n'), who=child.node.key)
        stream.close()

    # --- lifecycle ------------------------------------------------------------------------

    def _start(self, child: Child) -> None:
        node = child.node
        env = dict(self._env)
        env.update(node.env)
        env['PYTHONUNBUFFERED'] = '1'
        env['RCUTILS_COLORIZED_OUTPUT'] = env.get('RCUTILS_COLORIZED_OUTPUT', '0')
        cmd = self._command_for(node)
        try:
            child.process = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True, preexec_fn=_child_setup(node))
        except OSError as exc:
            self.say(f'cannot start {node.key} ({" ".join(cmd)}): {exc}')
            child.process = None
            self._schedule_restart(child, code=None)
            return
        child.started_at = self._clock()
        child.restart_at = None
        child.reader = threading.Thread(target=self._pump, args=(child, child.process.stdout),
                                        daemon=True)
        child.reader.start()
        self.say(f'started {node.key} (pid {child.process.pid}): {" ".join(cmd)}')

    def _schedule_restart(self, child: Child, code: int | None) -> None:
        node = child.node
        now = self._clock()
        if code is not None:
            child.exit_codes.append(code)
        if not node.respawn:
            child.finished = True
            if code not in (0, None):
                self._fail(f'{node.key} exited with code {code} and respawn is off')
            else:
                self.say(f'{node.key} exited with code {code} (respawn off)')
            return
        if child.process is not None and now - child.started_at >= STABLE_AFTER_S:
            child.quick_deaths = 0
        child.quick_deaths += 1
        if child.quick_deaths > node.max_restarts:
            child.finished = True
            self._fail(f'{node.key} keeps dying: {node.max_restarts} restarts in a row failed '
                       f'(last exit code {code})')
            return
        delay = min(node.respawn_delay_s * 2 ** (child.quick_deaths - 1), MAX_BACKOFF_S)
        child.restart_at = now + delay
        self.say(f'{node.key} exited with code {code}; restarting in {delay:.1f} s '
                 f'(attempt {child.quick_deaths} of {node.max_restarts})')

    def _fail(self, reason: str) -> None:
        self.say(f'ERROR: {reason}')
        if self._failure is None:
            self._failure = reason
        self._stop.set()

    def _poll(self) -> None:
        now = self._clock()
        for child in self.children:
            if child.finished:
                continue
            if child.process is not None:
                code = child.process.poll()
                if code is not None:
                    if child.reader:
                        child.reader.join(timeout=1.0)
                    child.process = None
                    self._schedule_restart(child, code)
            elif child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self._start(child)

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
            before_stop: Callable[[], None] | None = None) -> int:
        """Starts every node and supervises until stopped, ``duration_s`` passes or a node fails.

        ``before_stop`` is called once, while every node still runs, just before they are
        stopped (what a node reports while the others shut down is not the run's state).
        Returns 0 on a clean stop, 1 when a node kept dying (or a non-respawning one failed).
        """
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: self._stop.set())
        try:
            self.say(f'profile {self._plan.profile!r}: starting {len(self.children)} node(s): '
                     f'{", ".join(c.node.key for c in self.children)}')
            for child in self.children:
                self._start(child)
            end = None if duration_s is None else self._clock() + duration_s
            while not self._stop.is_set():
                self._poll()
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
