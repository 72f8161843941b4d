"""``jetson-edge soak``: the suite run for minutes, with every process's memory, every expected
topic's rate and every node's restarts and diagnostics recorded, and a report table at the end.

Beside the suite runs a bare rclpy node (init, one node, spin: the floor any process of the
suite pays), so each process's memory is also reported as a multiple of it, measured in the
same run on the same machine."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from typing import TextIO

import psutil

from jetson_edge_bringup.plan import Plan, write_parameter_files
from jetson_edge_bringup.soak_report import format_report, memory_result, topic_result
from jetson_edge_bringup.supervisor import Supervisor, commands_for
from jetson_edge_bringup.topic_monitor import TopicMonitor

SAMPLE_PERIOD_S = 2.0
FLOOR = 'floor'    # the bare rclpy node's key among the samples

_BARE_NODE = """
import rclpy
from rclpy.executors import ExternalShutdownException
from jetson_edge_common.dds import use_large_data_transport
use_large_data_transport()
rclpy.init()
try:
    rclpy.spin(rclpy.create_node('soak_floor'))
except (KeyboardInterrupt, ExternalShutdownException):
    pass
"""


def expected_topics(plan: Plan) -> dict[str, dict]:
    topics = {}
    for node in plan.nodes:
        for topic, spec in node.expects.items():
            topics[node.resolve_topic(topic)] = spec
    return topics


def _sample_memory(supervisor: Supervisor, floor: subprocess.Popen, samples: dict[str, list],
                   start: float, stop: threading.Event) -> None:
    while not stop.wait(SAMPLE_PERIOD_S):
        now = time.monotonic() - start
        pids = {child.node.key: child.node_pid for child in supervisor.children
                if child.process is not None and child.node_pid is not None}
        pids[FLOOR] = floor.pid
        for key, pid in pids.items():
            try:  # the node's (or container's) memory, not its runner's
                memory = psutil.Process(pid).memory_full_info()
            except psutil.Error:
                continue
            samples.setdefault(key, []).append((now, float(memory.rss), float(memory.pss)))


def run_soak(plan: Plan, *, minutes: float, warmup_s: float | None = None,
             out: TextIO = sys.stdout, log: TextIO | None = None) -> int:
    """Runs ``plan`` for ``minutes`` and prints the report. Returns 0 when every check passed."""
    duration = minutes * 60.0
    warmup = min(60.0, duration * 0.2) if warmup_s is None else warmup_s
    write_parameter_files(plan, tempfile.mkdtemp(prefix=f'jetson-edge-soak-{plan.profile}-'))
    commands = commands_for(plan)
    topics = expected_topics(plan)
    monitor = TopicMonitor({t: (s['type'], s.get('qos', 'reliable')) for t, s in topics.items()})
    supervisor = Supervisor(plan, lambda n: commands[n.key], out=log or out)
    samples: dict[str, list] = {}
    stop = threading.Event()
    start = time.monotonic()
    floor = subprocess.Popen([sys.executable, '-c', _BARE_NODE], stdin=subprocess.DEVNULL)
    sampler = threading.Thread(target=_sample_memory,
                               args=(supervisor, floor, samples, start, stop), daemon=True)
    ended: dict = {}

    def record_end() -> None:
        # While every node still runs: during the shutdown a node may rightly report the
        # others' absence (an IMU watchdog, a silent sensor), which says nothing of the soak.
        ended['at'] = min(time.monotonic(), start + duration)
        stop.set()
        ended['stamps'] = monitor.snapshot()
        ended['diagnostics'] = {name: (level, message) for name, (level, message, *_)
                                in monitor.latest_diagnostics().items()}

    sampler.start()
    try:
        code = supervisor.run(duration_s=duration, before_stop=record_end)
    finally:
        stop.set()
        sampler.join()
        monitor.close()
        floor.terminate()
        try:
            floor.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            floor.kill()
            floor.wait()
    end, stamps, diagnostics = ended['at'], ended['stamps'], ended['diagnostics']
    processes = [memory_result(c.node.key, samples.get(c.node.key, []), warmup_s=warmup,
                               restarts=c.restarts, members=tuple(m.key for m in c.node.members))
                 for c in supervisor.children]
    floor_mb = memory_result(FLOOR, samples.get(FLOOR, []), warmup_s=warmup,
                             restarts=0).rss_end_mb
    results = [topic_result(t, stamps[t], expected_hz=float(s['rate_hz']),
                            start=start + warmup, end=end) for t, s in topics.items()]
    out.write(f'soak of profile {plan.profile!r}: {minutes:g} min, warm-up {warmup:.0f} s\n')
    out.write(format_report(processes, results, diagnostics, floor_mb=floor_mb) + '\n')
    failed = ([p.key for p in processes if not p.ok] + [t.topic for t in results if not t.ok]
              + [n for n, (level, _) in diagnostics.items() if level >= 2])
    if code != 0:
        failed.append('supervisor')
    out.write(('soak passed\n' if not failed else f'soak FAILED: {", ".join(failed)}\n'))
    return 0 if not failed else 1
