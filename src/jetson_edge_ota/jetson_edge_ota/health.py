"""Pluggable health checks that gate the commit of a new release.

A health check is any callable ``(slot_dir, timeout_s) -> HealthResult``. Three come
with the package:

- ``DiagnosticsHealthCheck`` (the default): start the suite from the new slot
  (``jetson-edge up``), watch ``/diagnostics`` in a subprocess
  (``jetson_edge_ota.diagnostics_watch``) and pass when statuses arrive for the watch
  window with no ERROR; the suite is stopped afterwards (the robot's service manager
  starts it from ``current`` for real).
- ``CommandHealthCheck``: any command run from the slot; exit status 0 in time passes.
- ``NoHealthCheck``: commit without checking (for ``--health-check none``).

This module imports no ROS; only the watcher subprocess does.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthResult:
    ok: bool
    message: str


HealthCheck = Callable[[Path, float], HealthResult]


def slot_environment(slot: Path) -> dict[str, str]:
    """Environment for a process run from ``slot``: its bin dirs first on PATH."""
    env = dict(os.environ)
    env['JETSON_EDGE_SLOT'] = str(slot)
    bins = [str(p) for p in (slot / 'workspace' / 'bin', slot / 'workspace' / '.venv' / 'bin')
            if p.is_dir()]
    env['PATH'] = os.pathsep.join(bins + [env.get('PATH', '')])
    return env


def _slot_command(slot: Path, argv: Sequence[str]) -> list[str]:
    """Wrap ``argv`` so it runs with the slot's colcon workspace sourced, if it has one."""
    setup = slot / 'workspace' / 'setup.bash'
    if setup.is_file():
        return ['bash', '-c', f'source {shlex.quote(str(setup))} && exec "$@"', 'ota-health',
                *argv]
    return list(argv)


def _stop(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGINT the process group, then SIGTERM, then SIGKILL."""
    for sig, wait_s in ((signal.SIGINT, grace_s), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue


class NoHealthCheck:
    def __call__(self, slot: Path, timeout_s: float) -> HealthResult:
        return HealthResult(True, 'health check disabled')


class CommandHealthCheck:
    """Run ``argv`` from the slot; healthy if it exits 0 within the time limit."""

    def __init__(self, argv: Sequence[str]):
        if not argv:
            raise ConfigError('health check command is empty')
        self.argv = list(argv)

    def __call__(self, slot: Path, timeout_s: float) -> HealthResult:
        process = subprocess.Popen(_slot_command(slot, self.argv), cwd=slot,
                                   env=slot_environment(slot), start_new_session=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            output, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _stop(process, grace_s=2.0)
            return HealthResult(False, f'{self.argv[0]} did not finish in {timeout_s:.0f} s')
        tail = output.decode(errors='replace').strip().splitlines()[-1:] or ['']
        if process.returncode != 0:
            return HealthResult(False, f'{self.argv[0]} exited {process.returncode}: {tail[0]}')
        return HealthResult(True, tail[0] or f'{self.argv[0]} exited 0')


class DiagnosticsHealthCheck:
    """Start the suite from the slot and require ``/diagnostics`` without ERROR."""

    def __init__(self, *, start_argv: Sequence[str] = ('jetson-edge', 'up'),
                 window_s: float = 10.0, settle_s: float = 15.0, require: Sequence[str] = (),
                 watcher_python: str = sys.executable):
        self.start_argv = list(start_argv)
        self.window_s = window_s
        self.settle_s = settle_s
        self.require = list(require)
        self.watcher_python = watcher_python

    def __call__(self, slot: Path, timeout_s: float) -> HealthResult:
        env = slot_environment(slot)
        LOG.info('health: starting %s from %s', ' '.join(self.start_argv), slot)
        try:
            suite = subprocess.Popen(_slot_command(slot, self.start_argv), cwd=slot, env=env,
                                     start_new_session=True, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        except OSError as exc:
            return HealthResult(False, f'cannot start {self.start_argv[0]}: {exc}')
        watcher_env = dict(os.environ)
        watcher_env['PYTHONPATH'] = os.pathsep.join(
            [str(Path(__file__).resolve().parents[1]), watcher_env.get('PYTHONPATH', '')])
        started = time.monotonic()
        argv = [self.watcher_python, '-m', 'jetson_edge_ota.diagnostics_watch',
                '--window', str(self.window_s), '--settle', str(self.settle_s),
                '--timeout', str(timeout_s)]
        for name in self.require:
            argv += ['--require', name]
        watcher = subprocess.Popen(argv, env=watcher_env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True)
        try:
            hard_deadline = started + timeout_s + 30.0
            while watcher.poll() is None:
                if suite.poll() is not None:
                    # The suite must keep running; exiting during the watch is a failure.
                    return HealthResult(False, f'{self.start_argv[0]} exited with '
                                               f'{suite.returncode} during the health check')
                if time.monotonic() > hard_deadline:
                    return HealthResult(False, 'diagnostics watcher hung')
                time.sleep(0.1)
            out, err = watcher.communicate()
            summary = out.decode(errors='replace').strip() or \
                err.decode(errors='replace').strip()[-300:]
            return HealthResult(watcher.returncode == 0,
                                f'{summary} (after {time.monotonic() - started:.1f} s)')
        finally:
            _stop(watcher, grace_s=2.0)
            _stop(suite)


def health_check_from_spec(spec: str, *, window_s: float = 10.0) -> HealthCheck:
    """``diagnostics`` | ``diagnostics:<start command>`` | ``cmd:<command>`` | ``none``."""
    kind, _, rest = spec.partition(':')
    if kind == 'none' and not rest:
        return NoHealthCheck()
    if kind == 'diagnostics':
        if rest:
            return DiagnosticsHealthCheck(start_argv=shlex.split(rest), window_s=window_s)
        return DiagnosticsHealthCheck(window_s=window_s)
    if kind == 'cmd' and rest.strip():
        return CommandHealthCheck(shlex.split(rest))
    raise ConfigError(f'unknown health check {spec!r}: use diagnostics, '
                      'diagnostics:<start command>, cmd:<command> or none')
