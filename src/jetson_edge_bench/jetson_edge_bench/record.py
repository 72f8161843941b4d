"""``jetson-edge bench record``: records the whole sim at full rate and checks the recording
against an independent subscriber of the same run.

The sim runs under ``jetson-edge up``, the recorder as ``jetson-edge record`` (both their own
processes, as a user runs them); this process subscribes to the plan's expected topics with the
plan's QoS (a :class:`RawTap`) and keeps a digest of every message. Per topic, over the
recording's window, it compares the messages themselves: ``missed`` are messages the tap got and
the recording lacks, ``extra`` the other way round. On reliable topics nothing may be missed; on
sensor-data (best-effort) topics losses are reported (target zero).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy

from jetson_edge_bringup.bag import BagReader
from jetson_edge_bringup.plan import build_plan
from jetson_edge_bringup.soak import expected_topics
from jetson_edge_common.message_types import message_type
from jetson_edge_common.dds import use_large_data_transport
from jetson_edge_common.profiles import load_profile

START_MARGIN_S = 3.0   # the recorder's discovery and matching at the start of its window
END_MARGIN_S = 1.0
STARTUP_S = 180.0      # model loading and discovery on a loaded machine

Stamped = list[tuple[int, bytes]]  # (receive time ns, digest of the serialized message)


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=12).digest()


class RawTap:
    """Subscribes to ``topics`` (name -> (type, 'sensor'|'reliable')) as serialized bytes in its
    own context and thread; keeps (receive time, digest) per message until :meth:`close`."""

    def __init__(self, topics: dict[str, tuple[str, str]], *, node_name: str = 'record_tap'):
        self._context = rclpy.Context()
        rclpy.init(context=self._context)
        self._node = rclpy.create_node(node_name, context=self._context)
        self._lock = threading.Lock()
        self.qos = {topic: qos for topic, (_type, qos) in topics.items()}
        self._seen: dict[str, Stamped] = {topic: [] for topic in topics}
        for topic, (type_name, qos) in topics.items():
            profile = QoSProfile(depth=200, reliability=ReliabilityPolicy.BEST_EFFORT
                                 if qos == 'sensor' else ReliabilityPolicy.RELIABLE)
            self._node.create_subscription(message_type(type_name), topic, self._keeper(topic),
                                           profile, raw=True)
        self._executor = rclpy.executors.SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self._node)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _keeper(self, topic: str):
        seen = self._seen[topic]

        def keep(data: bytes) -> None:
            stamp = time.time_ns()
            with self._lock:
                seen.append((stamp, digest(data)))
        return keep

    def _spin(self) -> None:
        while not self._stop.is_set():
            self._executor.spin_once(timeout_sec=0.1)

    def seen(self) -> dict[str, Stamped]:
        with self._lock:
            return {topic: list(stamps) for topic, stamps in self._seen.items()}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        self._executor.shutdown()
        self._node.destroy_node()
        rclpy.shutdown(context=self._context)


@dataclass(frozen=True)
class TopicComparison:
    topic: str
    qos: str
    subscriber: int   # messages the tap received in the window
    recorded: int     # messages the recording holds in the window
    missed: int       # received by the tap, absent from the recording
    extra: int        # in the recording, never received by the tap


def compare(tapped: dict[str, Stamped], recorded: dict[str, Stamped], qos: dict[str, str], *,
            start_ns: int, end_ns: int) -> list[TopicComparison]:
    """Per tapped topic, the messages of [start_ns, end_ns] matched by digest (each message
    counted once, so repeated identical messages are matched as many times as they occur)."""
    rows = []
    for topic, taps in tapped.items():
        ours = recorded.get(topic, [])
        tap_in = Counter(d for t, d in taps if start_ns <= t <= end_ns)
        rec_in = Counter(d for t, d in ours if start_ns <= t <= end_ns)
        missed = tap_in - Counter(d for _t, d in ours)
        extra = rec_in - Counter(d for _t, d in taps)
        rows.append(TopicComparison(topic, qos[topic], sum(tap_in.values()), sum(rec_in.values()),
                                    sum(missed.values()), sum(extra.values())))
    return rows


def recording_window(start_ns: int, end_ns: int) -> tuple[int, int]:
    return start_ns + int(START_MARGIN_S * 1e9), end_ns - int(END_MARGIN_S * 1e9)


def read_recording(directory: str | Path) -> dict[str, Stamped]:
    found: dict[str, Stamped] = {}
    for message in BagReader(directory).messages():
        found.setdefault(message.topic, []).append((message.time_ns, digest(message.data)))
    return found


def format_table(rows: list[TopicComparison], *, seconds: float,
                 rates: dict[str, float] | None = None) -> str:
    """One line per topic; ``published`` is the plan's rate times the window (nodes do not count
    what they publish), the other columns are counted."""
    rates = rates or {}
    lines = [f'{"topic":<30} {"qos":<9} {"published":>9} {"subscriber":>10} {"recorded":>9} '
             f'{"missed":>7} {"extra":>6}  over {seconds:.1f} s']
    for r in rows:
        published = f'~{rates[r.topic] * seconds:.0f}' if r.topic in rates else '-'
        lines.append(f'{r.topic:<30} {r.qos:<9} {published:>9} {r.subscriber:>10} {r.recorded:>9} '
                     f'{r.missed:>7} {r.extra:>6}')
    return '\n'.join(lines)


def failures(rows: list[TopicComparison]) -> list[str]:
    """What breaks the bound: a reliable message missed, or a topic never recorded."""
    problems = [f'{r.topic}: {r.missed} reliable messages missed' for r in rows
                if r.qos != 'sensor' and r.missed]
    problems += [f'{r.topic}: nothing recorded' for r in rows if r.subscriber and not r.recorded]
    return problems


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog='jetson-edge bench record', description=__doc__)
    parser.add_argument('--seconds', type=float, default=60.0, help='recording length')
    parser.add_argument('--profile', default='sim')
    parser.add_argument('--keep', help='keep the recording in this directory')
    args = parser.parse_args(argv)

    use_large_data_transport()
    expects = expected_topics(build_plan(load_profile(args.profile)))
    topics = {t: (s['type'], s.get('qos', 'reliable')) for t, s in expects.items()}
    rates = {t: float(s['rate_hz']) for t, s in expects.items() if 'rate_hz' in s}
    work = Path(tempfile.mkdtemp(prefix='jetson-edge-bench-record-'))
    directory = Path(args.keep) if args.keep else work / 'bag'
    tap = RawTap(topics)
    suite = subprocess.Popen(['jetson-edge', 'up', '--profile', args.profile],
                             stdout=open(work / 'suite.log', 'wb'), stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_S
        while not all(tap.seen().values()):
            if suite.poll() is not None or time.monotonic() > deadline:
                silent = [t for t, s in tap.seen().items() if not s]
                raise SystemExit(f'the sim did not publish {silent} (log: {work / "suite.log"})')
            time.sleep(1.0)
        subprocess.run(['jetson-edge', 'record', '-o', str(directory), '--duration',
                        str(args.seconds)], check=True)
        time.sleep(END_MARGIN_S)
    finally:
        os.killpg(suite.pid, signal.SIGINT)
        suite.wait(60)
        tap.close()
    bag = BagReader(directory)
    start, end = recording_window(bag.start_ns, bag.start_ns + bag.duration_ns)
    rows = compare(tap.seen(), read_recording(directory), tap.qos, start_ns=start, end_ns=end)
    print(format_table(rows, seconds=(end - start) / 1e9, rates=rates))
    problems = failures(rows)
    for problem in problems:
        print(f'FAIL {problem}', file=sys.stderr)
    return {'seconds': (end - start) / 1e9, 'failures': problems,
            'topics': {r.topic: r.__dict__ for r in rows}}
