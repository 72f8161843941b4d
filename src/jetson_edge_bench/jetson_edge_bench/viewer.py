"""``jetson-edge bench viewer``: what the live viewer costs the sim, and that a client that stops
reading holds nothing up.

Two runs of the sim under ``jetson-edge up``, measured over the same window after the same
warm-up: the reference without the viewer (``--only`` every other node), then the whole sim
with one Foxglove client subscribed to every channel (:class:`jetson_edge_viewer.testing.FoxgloveClient`,
written from the protocol spec). CPU time is read with psutil for every process of the suite;
the viewer's share is that of its own process (it runs alone here, out of any process group).
Then, in the second run, a second client subscribes to everything and never reads: the first
client's rates during that stall are compared with its rates before it, and the viewer's own
counters (from its /diagnostics, as the first client receives them) say what it dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import yaml

from jetson_edge_bringup.plan import VIEWER_PACKAGE, build_plan, viewer_addresses
from jetson_edge_common.profiles import Profile, load_profile
from jetson_edge_viewer.testing import FoxgloveClient

STARTUP_S = 180.0
SHOWN = ['/camera/image_raw', '/perception/overlay', '/perception/detections', '/lidar/points', '/imu/data',
         '/rt/timing', '/diagnostics']


def _suite(profile: str, only: list[str] | None, log: Path) -> subprocess.Popen:
    cmd = ['jetson-edge', 'up', '--profile', profile] + (['--only', ','.join(only)] if only else [])
    return subprocess.Popen(cmd, stdout=open(log, 'wb'), stderr=subprocess.STDOUT, start_new_session=True)


def _stop(suite: subprocess.Popen) -> None:
    os.killpg(suite.pid, signal.SIGINT)
    try:
        suite.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(suite.pid, signal.SIGKILL)
        suite.wait()


def _cpu_seconds(root: int) -> dict[int, tuple[str, float]]:
    """pid -> (command line, user+system CPU seconds) of ``root`` and its descendants."""
    out = {}
    try:
        processes = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
    except psutil.NoSuchProcess:
        return out
    for p in processes:
        try:
            t = p.cpu_times()
            out[p.pid] = (' '.join(p.cmdline()), t.user + t.system)
        except psutil.NoSuchProcess:
            continue
    return out


def _cpu_share(before: dict, after: dict, seconds: float, match=lambda _cmd: True) -> float:
    """Percent of one core used by the matching processes between two snapshots."""
    used = sum(cpu - before.get(pid, (cmd, 0.0))[1] for pid, (cmd, cpu) in after.items() if match(cmd))
    return 100.0 * used / seconds


def _is_viewer(cmd: str) -> bool:
    return 'viewer_node' in cmd and 'node_runner' not in cmd


def _connect(url: str, deadline: float, **kwargs) -> FoxgloveClient:
    while True:
        try:
            return FoxgloveClient(url, **kwargs)
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f'the viewer did not accept connections on {url}')
            time.sleep(1.0)


def _counts(client: FoxgloveClient) -> dict[str, int]:
    return {t: len(client.received(t)) for t in SHOWN}


def _viewer_values(client: FoxgloveClient) -> dict[str, str]:
    for m in reversed(client.received('/diagnostics')):
        for status in json.loads(m.payload)['status']:
            if status['name'] == 'viewer: server':
                return {kv['key']: kv['value'] for kv in status['values']}
    return {}


def _viewer_alone(profile: Profile, work: Path) -> str:
    """A profile extending ``profile`` in which the viewer runs in a process of its own: its CPU
    is what this bench measures, and in a process group it would be the group's."""
    nodes = {key: {'process': ''} for key, spec in profile.nodes.items()
             if spec.get('package') == VIEWER_PACKAGE}
    path = work / f'{profile.name}_viewer_alone.yaml'
    path.write_text(yaml.safe_dump({'extends': str(profile.path),
                                    'description': f'{profile.name}, the viewer alone',
                                    'nodes': nodes}, sort_keys=False))
    return str(path)


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog='jetson-edge bench viewer', description=__doc__)
    parser.add_argument('--profile', default='sim')
    parser.add_argument('--warmup', type=float, default=45.0, help='seconds from start to the window')
    parser.add_argument('--seconds', type=float, default=30.0, help='measurement window')
    parser.add_argument('--stall', type=float, default=15.0, help='seconds the second client does not read')
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix='jetson-edge-bench-viewer-'))
    profile = _viewer_alone(load_profile(args.profile), work)
    plan = build_plan(load_profile(profile))
    others = [n.key for n in plan.nodes if n.package != VIEWER_PACKAGE]
    addresses = viewer_addresses(plan)
    if not addresses:
        raise SystemExit(f'profile {args.profile!r} does not enable the viewer')
    url = addresses[0]

    reference = _suite(profile, others, work / 'reference.log')
    try:
        time.sleep(args.warmup)
        before = _cpu_seconds(reference.pid)
        time.sleep(args.seconds)
        suite_without = _cpu_share(before, _cpu_seconds(reference.pid), args.seconds)
    finally:
        _stop(reference)

    suite = _suite(profile, None, work / 'suite.log')
    try:
        started = time.monotonic()
        client = _connect(url, started + STARTUP_S)
        while not set(SHOWN) <= set(client.topics()) and time.monotonic() < started + STARTUP_S:
            time.sleep(0.5)
        client.subscribe([t for t in SHOWN if t in client.topics()])
        time.sleep(max(0.0, args.warmup - (time.monotonic() - started)))
        before, counts_before = _cpu_seconds(suite.pid), _counts(client)
        time.sleep(args.seconds)
        after, counts_after = _cpu_seconds(suite.pid), _counts(client)
        suite_with = _cpu_share(before, after, args.seconds)
        viewer_cpu = _cpu_share(before, after, args.seconds, _is_viewer)
        rates = {t: (counts_after[t] - counts_before[t]) / args.seconds for t in SHOWN}
        values_before = _viewer_values(client)

        staller = _connect(url, time.monotonic() + 30, read=False)
        staller.read_until_advertised(set(SHOWN), 30)
        staller.subscribe(SHOWN)
        stall_start = _counts(client)
        time.sleep(args.stall)
        stall_end = _counts(client)
        stalled_rates = {t: (stall_end[t] - stall_start[t]) / args.stall for t in SHOWN}
        time.sleep(2.0)  # one more viewer diagnostics period
        values_after = _viewer_values(client)
        staller.close()
        client.close()
        alive = suite.poll() is None
    finally:
        _stop(suite)

    def delta(key: str) -> int:
        return int(values_after.get(key, 0)) - int(values_before.get(key, 0))

    ratio_rows = {t: stalled_rates[t] / rates[t] if rates[t] else float('nan') for t in SHOWN}
    encoder_drops = sum(delta(f'{t} dropped') for t in SHOWN)
    overflows = delta('client_outbox_overflows')
    print(f'viewer: {args.profile} profile, window {args.seconds:g} s after {args.warmup:g} s, '
          f'stall {args.stall:g} s (logs in {work})')
    print(f'| measure | result | target |\n|---|---|---|')
    print(f'| viewer process CPU, one client subscribed to all | **{viewer_cpu:.1f} %** of a core | <= 5 % |')
    print(f'| whole suite CPU without / with viewer + client | {suite_without:.1f} % / {suite_with:.1f} % '
          f'of a core ({suite_with / suite_without:.3f}x) | - |')
    for t in SHOWN:
        print(f'| {t} at the reading client: before / during stall | {rates[t]:.1f} / {stalled_rates[t]:.1f} Hz '
              f'({ratio_rows[t]:.2f}x) | ~1x |')
    print(f'| during the stall: encoder drops / SDK outbox-full notices / suite alive | {encoder_drops} / '
          f'{overflows} / {alive} | - / - / True |')
    return {'viewer_cpu_percent': viewer_cpu, 'suite_cpu_without': suite_without,
            'suite_cpu_with': suite_with, 'rates_hz': rates, 'stalled_rates_hz': stalled_rates,
            'encoder_drops_during_stall': encoder_drops, 'outbox_overflow_notices': overflows,
            'suite_alive': alive}
