"""Starts a Jetson profile's nodes from a robot install and reads what they report.

    python scripts/robot_install_probe.py --profile orin_nano --seconds 20

Run by ``scripts/check-robot-install.sh`` in the environment of a workspace built without
jetson_edge_sim and jetson_edge_bench. It checks that neither can be imported or is registered
under an entry point, starts ``jetson-edge --root EMPTY up --profile P`` (EMPTY: a machine with
none of the profile's hardware and no device tree), listens to ``/diagnostics`` meanwhile, and
prints each node's statuses. Exit 1 when a node reported nothing, a node process failed on an
import, or the sim or the bench is reachable; 0 otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from importlib.metadata import distributions

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.executors import SingleThreadedExecutor

from jetson_edge_bringup.plan import prepare_plan
from jetson_edge_common import qos
from jetson_edge_common.diagnostics import Level

NOT_ON_A_ROBOT = ('jetson_edge_sim', 'jetson_edge_bench')


def reachable_stand_ins() -> list[str]:
    """What of the sim and the bench this environment can import or finds registered."""
    found = [name for name in NOT_ON_A_ROBOT if importlib.util.find_spec(name) is not None]
    # every group (stand-ins register under several: tool, SPI, parameter-schema, benchmark)
    found += [f'{ep.group}: {ep.name} = {ep.value}' for dist in distributions() for ep in dist.entry_points
              if ep.value.split('.')[0].split(':')[0] in NOT_ON_A_ROBOT]
    return found


class DiagnosticsLog:
    """The latest (level, message) of every status on /diagnostics, from its own thread."""

    def __init__(self) -> None:
        self.latest: dict[str, tuple[Level, str]] = {}
        self.worst: dict[str, tuple[Level, str]] = {}
        self._lock = threading.Lock()
        self._node = rclpy.create_node('robot_install_probe')
        self._node.create_subscription(DiagnosticArray, '/diagnostics', self._on_array,
                                       qos.DIAGNOSTICS)
        self._executor = SingleThreadedExecutor()
        self._executor.add_node(self._node)
        self._thread = threading.Thread(target=self._executor.spin, daemon=True)
        self._thread.start()

    def _on_array(self, msg: DiagnosticArray) -> None:
        with self._lock:
            for status in msg.status:
                level = Level(status.level if isinstance(status.level, int)
                              else ord(status.level))
                self.latest[status.name] = (level, status.message)
                if level != Level.STALE and level >= self.worst.get(status.name, (-1, ''))[0]:
                    self.worst[status.name] = (level, status.message)

    def of_node(self, name: str) -> dict[str, tuple[Level, str]]:
        with self._lock:
            return {k: self.worst.get(k, v) for k, v in self.latest.items()
                    if k.startswith(f'{name}: ')}

    def close(self) -> None:
        self._executor.shutdown()
        self._thread.join(10)
        self._node.destroy_node()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--profile', default='orin_nano')
    parser.add_argument('--seconds', type=float, default=20.0,
                        help='how long the nodes run (default: 20)')
    args = parser.parse_args(argv)

    problems = [f'reachable on a robot install: {what}' for what in reachable_stand_ins()]
    root = tempfile.mkdtemp(prefix='jetson_edge_no_hardware_')
    plan, _ = prepare_plan(args.profile, root=root)
    log_path = os.path.join(root, 'up.log')
    rclpy.init()
    diagnostics = DiagnosticsLog()
    with open(log_path, 'wb') as log:
        suite = subprocess.Popen(
            ['jetson-edge', '--root', root, 'up', '--profile', args.profile,
             '--params-dir', os.path.join(root, 'params')],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            time.sleep(args.seconds)
        finally:
            os.killpg(suite.pid, signal.SIGINT)
            try:
                suite.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(suite.pid, signal.SIGKILL)
                suite.wait()
    diagnostics.close()
    rclpy.try_shutdown()
    output = open(log_path, encoding='utf-8', errors='replace').read()

    print(f'profile {args.profile}, root {root} (no device tree, no hardware), '
          f'{args.seconds:g} s; worst status of each:')
    for node in plan.nodes:
        statuses = diagnostics.of_node(node.name)
        if not statuses:
            problems.append(f'{node.key} ({node.name}) reported nothing on /diagnostics')
        for name, (level, message) in sorted(statuses.items()):
            print(f'  {level.name:<5} {name}: {message[:150]}')
    for marker in ('ModuleNotFoundError', 'ImportError'):
        if marker in output:
            problems.append(f'a node failed on an import ({marker}; see {log_path})')
    for problem in problems:
        print(f'FAIL: {problem}')
    print('robot install: ' + ('FAILED' if problems else
                               f'ok ({len(plan.nodes)} nodes reported, no sim or bench)'))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
