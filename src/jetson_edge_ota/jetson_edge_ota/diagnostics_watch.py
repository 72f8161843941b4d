"""ROS side of the default health check: watch ``/diagnostics`` and exit with a verdict.

Run as ``python -m jetson_edge_ota.diagnostics_watch --window 10 --timeout 60``; exit 0
when statuses arrived for ``--settle`` + ``--window`` seconds with no ERROR after settling
and none left in ERROR, 1 on an ERROR after settling (or one that never cleared),
2 when nothing arrived before ``--timeout``. The only module of this package that
imports rclpy; the installer runs it as a subprocess.
"""

from __future__ import annotations

import argparse
import sys
import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from jetson_edge_common.diagnostics import Level
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from .diagnostics_verdict import DiagnosticsVerdict

EXIT_OK, EXIT_ERROR, EXIT_SILENT = 0, 1, 2


def watch(*, topic: str, window_s: float, timeout_s: float, require: list[str],
          settle_s: float = 0.0) -> tuple[int, str]:
    verdict = DiagnosticsVerdict(settle_s=settle_s)
    first_seen: list[float] = []

    def on_message(msg: DiagnosticArray) -> None:
        if not first_seen:
            first_seen.append(time.monotonic())
        t = time.monotonic() - first_seen[0]
        for status in msg.status:
            level = status.level if isinstance(status.level, int) else ord(status.level)
            verdict.add(status.name, Level(level), status.message, t=t)

    rclpy.init()
    try:
        node = rclpy.create_node('ota_health_watch')
        qos = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST,
                         reliability=ReliabilityPolicy.RELIABLE)
        node.create_subscription(DiagnosticArray, topic, on_message, qos)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.1)
            if verdict.errors:
                break
            if first_seen and time.monotonic() - first_seen[0] >= settle_s + window_s:
                break
        node.destroy_node()
    finally:
        rclpy.try_shutdown()
    missing = [name for name in require if not any(n.startswith(name) for n in verdict.names)]
    if verdict.failures():
        return EXIT_ERROR, verdict.summary()
    if not verdict.ok:
        return EXIT_SILENT, verdict.summary()
    if missing:
        return EXIT_SILENT, f'no status from: {", ".join(missing)}'
    return EXIT_OK, verdict.summary()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--topic', default='/diagnostics')
    parser.add_argument('--settle', type=float, default=0.0,
                        help='seconds after the first status in which an ERROR that clears is '
                             'a start-up transient')
    parser.add_argument('--window', type=float, default=10.0,
                        help='seconds to keep watching after settling')
    parser.add_argument('--timeout', type=float, default=60.0,
                        help='give up (unhealthy) after this many seconds')
    parser.add_argument('--require', action='append', default=[],
                        help='a status name prefix that must report (repeatable)')
    args = parser.parse_args(argv)
    code, summary = watch(topic=args.topic, window_s=args.window, timeout_s=args.timeout,
                          require=args.require, settle_s=args.settle)
    print(summary, flush=True)
    return code


if __name__ == '__main__':
    sys.exit(main())
