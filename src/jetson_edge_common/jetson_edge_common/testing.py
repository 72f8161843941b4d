"""Helpers for tests and benchmarks: the real-data fixtures, waiting for a state, stopping a
child process, and the ROS-import check of pure cores.

Two homes for real data, with the same layout (``lidar/``, ``images/``, ``models/``):

- ``test/data/`` in the repository: what is small enough to commit (the VLP-16 capture, the
  photos; sources and licences in its README). :func:`committed_fixture` finds it and never
  skips: a missing file there is a broken checkout, and the test fails saying so.
- ``../shared/fixtures/`` beside the repository: what is too large to commit (the models).
  :func:`fixture_path` skips the calling test with the reason where it is absent (a user's
  clone, a public CI run). ``JETSON_EDGE_FIXTURES`` overrides its location.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable


def repository_root() -> Path | None:
    """The source checkout this module or the working directory lies in, if any."""
    starts = [Path(__file__).resolve(), Path.cwd().resolve() / '_']
    for parent in (p for start in starts for p in start.parents):
        if (parent / 'src' / 'jetson_edge_common').is_dir():
            return parent
    return None


def committed_fixture(relative: str) -> Path:
    """A file or folder of the repository's committed test data (``test/data/<relative>``)."""
    root = repository_root()
    if root is None:
        raise FileNotFoundError(f'test data {relative}: no jetson_edge source checkout above '
                                f'{Path(__file__).resolve()} or {Path.cwd()}')
    path = root / 'test' / 'data' / relative
    if not path.exists():
        raise FileNotFoundError(f'test data {path} is missing from the checkout')
    return path


def fixtures_dir() -> Path | None:
    """The shared fixtures folder (``../shared/fixtures`` beside the repository), if present."""
    override = os.environ.get('JETSON_EDGE_FIXTURES')
    if override:
        return Path(override) if Path(override).is_dir() else None
    root = repository_root()
    candidate = root.parent / 'shared' / 'fixtures' if root is not None else None
    return candidate if candidate is not None and candidate.is_dir() else None


def fixture_path(relative: str) -> Path:
    """One fixture too large to commit (a model); skips the calling test when it is absent."""
    import pytest

    base = fixtures_dir()
    if base is None or not (base / relative).exists():
        pytest.skip(f'fixture {relative} is too large to commit and is not here (it lives in '
                    '../shared/fixtures beside the repository, or set JETSON_EDGE_FIXTURES)')
    return base / relative


def wait_for(condition: Callable[[], object], timeout: float, what: str | Callable[[], str],
             *, interval: float = 0.1) -> object:
    """Polls ``condition`` until it returns something true and returns that; fails the test
    after ``timeout`` s saying ``what`` it waited for (a callable is asked then, to describe the
    state at the end)."""
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            described = what() if callable(what) else what
            raise AssertionError(f'timed out after {timeout:g} s waiting for {described}')
        time.sleep(interval)


ROS_PACKAGES = frozenset({
    'rclpy', 'rcl_interfaces', 'rosidl_runtime_py', 'builtin_interfaces', 'std_msgs',
    'sensor_msgs', 'geometry_msgs', 'diagnostic_msgs', 'jetson_edge_msgs', 'vision_msgs'})


def core_modules(package_dir: Path, *, edge: set[str]) -> list[Path]:
    """The package's modules except its ROS edge (node modules, given by file name)."""
    return sorted(p for p in Path(package_dir).rglob('*.py') if p.name not in edge)


def ros_imports(path: Path, *, module_level_only: bool = False) -> list[str]:
    """Names of ROS packages ``path`` imports (anywhere, or only at module level)."""
    import ast

    tree = ast.parse(Path(path).read_text(), filename=str(path))
    nodes = tree.body if module_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found += [n for n in names if n.split('.')[0] in ROS_PACKAGES]
    return found


def ros_imports_in_core(package_dir: Path, *, edge: set[str],
                        module_level_only: bool = False) -> dict[str, list[str]]:
    """Core modules that import ROS, with what they import: empty for a clean pure core."""
    offenders = {}
    for path in core_modules(package_dir, edge=edge):
        names = ros_imports(path, module_level_only=module_level_only)
        if names:
            offenders[str(path.relative_to(package_dir))] = names
    return offenders


def kill_a_thread(node, inject, *, spin: bool = False,
                  timeout_s: float = 30.0) -> tuple[list[int], list]:
    """Test the thread contract on a live ``node`` in this process (``rclpy`` initialised).

    ``inject()`` makes one of the node's threads raise; returns the exit codes the process
    would have ended with (``ThreadGuard.exit_process`` records them instead of exiting) and
    the ERROR statuses the node published on ``/diagnostics``, received by a second node over
    DDS. The node's own executor is not spun unless ``spin`` (to kill it through a callback,
    on a thread named ``executor``): what arrives is the dying thread's last word.
    """
    import threading

    import rclpy
    import rclpy.executors
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

    from jetson_edge_common import qos
    from jetson_edge_common.node_main import spin_until_shutdown
    from jetson_edge_common.thread_guard import ThreadGuard

    exits: list[int] = []
    errors: list = []
    saved = ThreadGuard.exit_process
    ThreadGuard.exit_process = exits.append
    listener = rclpy.create_node('thread_death_listener')

    def keep_errors(msg: DiagnosticArray) -> None:
        errors.extend(s for s in msg.status if s.level == DiagnosticStatus.ERROR
                      and s.name.startswith(f'{node.get_name()}: '))

    listener.create_subscription(DiagnosticArray, '/diagnostics', keep_errors, qos.DIAGNOSTICS)
    try:
        deadline = time.monotonic() + timeout_s
        while node.count_subscribers('/diagnostics') < 1 and time.monotonic() < deadline:
            time.sleep(0.05)  # discovery: the dying thread's flush waits only for matched readers
        inject()
        if spin:
            executor = rclpy.executors.SingleThreadedExecutor()
            executor.add_node(node)
            threading.Thread(target=spin_until_shutdown, args=(executor,), name='executor',
                             daemon=True).start()
        while not (exits and errors) and time.monotonic() < deadline:
            rclpy.spin_once(listener, timeout_sec=0.1)
    finally:
        ThreadGuard.exit_process = saved
        listener.destroy_node()
    return exits, errors


@contextlib.contextmanager
def ros_in_process(parameters: dict[str, object] | None = None):
    """rclpy initialised in this process for a node under test, with ``-p name:=value`` for
    each of ``parameters``; shut down after, and the thread hook a node installs removed."""
    import threading

    import rclpy

    args = ['--ros-args'] + [a for k, v in (parameters or {}).items() for a in ('-p', f'{k}:={v}')]
    previous = threading.excepthook
    rclpy.init(args=args)
    try:
        yield
    finally:
        rclpy.try_shutdown()
        threading.excepthook = previous


def interrupt(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """Ctrl-C for a child still running, as a user would stop a node; SIGKILL if it has not
    ended within ``timeout`` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
