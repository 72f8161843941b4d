"""Issue 13's attack replayed against the running sim (``jetson-edge up``, every node of the
plan): garbage, a flood and spoofed Velodyne packets on the LiDAR port; malformed and huge
images on perception's input; every node frozen (SIGSTOP) and killed (SIGKILL) in turn; an IMU
calibration path that cannot be written. Then every node is sent SIGTERM and, at the end, the
suite Ctrl-C: each node exits 0 with no traceback.

It passes when every fault shows on ``/diagnostics`` or, naming the node, on the suite monitor's
``/diagnostics_agg``; every killed node comes back; ``lidar/points`` and ``imu/data`` keep
flowing through the packet and image attacks; and no process of the suite ends more than 50 MB
larger than it started. Each state is waited for with a generous timeout; the measured times
(fault to report, fault to recovery) are printed as a table (``pytest -s``), never asserted.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jetson_edge_perception.assets import photos_dir

from suite_helpers import (ERROR, IMAGES_OVER_DDS, OK, WARN, AggregateWatcher, current_pids,
                           load_plan, monitored_topics, node_exits, wait_for, write_profile)
from system_helpers import HERE

STARTUP_S = 180.0
SETTLE_S = 120.0        # generous bound of any wait for a state
RESTART_S = 120.0       # back-off plus a node's start (perception loads two models)
ATTACK_S = 5.0          # each packet attack
MEMORY_SLACK_MB = 50.0
LIDAR_HZ, IMU_HZ = 10.0, 100.0
FLOWING = ('lidar/points', 'imu/data')
NOT_ERROR = (OK, WARN)
AGG = '/diagnostics_agg'
DIAG = '/diagnostics'
STALENESS_OF = {'imu_emulator': 'imu: imu', 'lidar_sim': 'lidar: lidar'}


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _parent(pid: int) -> int:
    return int(Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[1])


def _suite_processes(suite) -> dict[str, int]:
    """Every process of the suite by role: the supervisor, each node and each node's runner."""
    pids = {'supervisor (jetson-edge up)': suite.process.pid}
    for key, pid in current_pids(suite.output()).items():
        pids[key] = pid
        pids[f'node_runner of {key}'] = _parent(pid)
    return pids


def _rss_over(suite, seconds: float, pick) -> dict[str, float]:
    """Each process's RSS sampled for ``seconds``, reduced with ``pick`` (max or min)."""
    samples: dict[str, list[float]] = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for role, pid in _suite_processes(suite).items():
            rss = _rss_mb(pid)
            if rss is not None:
                samples.setdefault(role, []).append(rss)
        time.sleep(0.25)
    return {role: pick(values) for role, values in samples.items()}


class Attack:
    """The running suite, its watcher and the table of measured times."""

    def __init__(self, watcher: AggregateWatcher, processes: dict[str, list[str]]) -> None:
        self.suite, self.watcher, self.processes = None, watcher, processes
        self.keys = [key for members in processes.values() for key in members]   # the nodes
        self.rows: list[tuple[str, str, str, str]] = []

    def alive(self) -> bool:
        assert self.suite.alive(), self.suite.output()[-3000:]
        return True

    def wait(self, condition, timeout: float, what):
        return wait_for(lambda: self.alive() and condition(), timeout, what)

    def not_ok(self) -> dict[str, str]:
        """The nodes whose latest entry on /diagnostics_agg is ERROR or STALE."""
        found = {}
        for key in self.keys:
            latest = self.watcher.latest(f'/jetson_edge/{key}')
            if key != 'monitor' and (latest is None or latest[3] not in NOT_ERROR):
                found[key] = latest[4] if latest else 'nothing yet'
        return found

    def settled(self, timeout: float = SETTLE_S) -> None:
        """Every node heard from and none in ERROR (a WARN, such as the IMU's calibration
        path or a recent restart, is allowed), so one fault's report is not another's."""
        since = time.monotonic()
        self.wait(lambda: self.watcher.first('/jetson_edge', since=since) and not self.not_ok(),
                  timeout, lambda: f'every node out of ERROR on {AGG}: {self.not_ok()}')

    def row(self, fault: str, report: str, to_report: float | None,
            to_recovery: float | None = None) -> None:
        def seconds(value):
            return '-' if value is None else f'{value:.2f}'
        self.rows.append((fault, report, seconds(to_report), seconds(to_recovery)))

    def rate(self, topic: str, start: float, end: float) -> float:
        return self.watcher.arrivals(topic, start, end) / (end - start)

    def flowing(self, start: float, end: float) -> dict[str, float]:
        rates = {topic: self.rate(topic, start, end) for topic in FLOWING}
        assert rates['lidar/points'] >= 0.5 * LIDAR_HZ, rates
        assert rates['imu/data'] >= 0.5 * IMU_HZ, rates
        return rates

    def table(self) -> str:
        header = ('fault', 'first report', 'fault -> report s', 'fault ended -> recovered s')
        widths = [max(len(r[i]) for r in [header, *self.rows]) for i in range(4)]
        lines = [' | '.join(c.ljust(w) for c, w in zip(r, widths)) for r in [header, *self.rows]]
        lines.insert(1, '-+-'.join('-' * w for w in widths))
        return '\n'.join(lines)


def _udp_attacks(attack: Attack, port: int) -> None:
    for kind, counter in (('garbage', 'dropped_total'), ('flood', 'dropped_total'),
                          ('spoof', 'dropped_out_of_sequence')):
        attack.settled()
        latest = attack.watcher.latest('lidar: lidar', topic=DIAG)
        before = int(latest[5].get(counter, 0))
        started = time.monotonic()
        done = subprocess.run([sys.executable, str(HERE / 'udp_attacker.py'), kind, str(port),
                               '--seconds', str(ATTACK_S)], capture_output=True, text=True,
                              timeout=ATTACK_S + 60)
        ended = time.monotonic()
        assert done.returncode == 0, done.stdout + done.stderr
        sent = json.loads(done.stdout.strip().splitlines()[-1])
        report = attack.wait(lambda: attack.watcher.first(
            'lidar: lidar', topic=DIAG, since=started, level=(WARN, ERROR),
            values=lambda v: int(v.get(counter, 0)) > before), SETTLE_S,
            f'the LiDAR driver to report the {kind} datagrams on {DIAG}')
        rates = attack.flowing(started, ended)
        if kind == 'spoof':  # foreign packets neither cut scans apart nor go unseen
            assert rates['lidar/points'] <= 1.5 * LIDAR_HZ, rates
        recovered = attack.wait(lambda: attack.watcher.first(
            'lidar: lidar', topic=DIAG, level=OK, since=ended), SETTLE_S,
            f'the LiDAR driver OK after the {kind} attack')
        final = attack.watcher.latest('lidar: lidar', topic=DIAG)[5]
        attack.row(f'UDP {kind}: {sent["sent"]} datagrams in {ATTACK_S:g} s, lidar/points '
                   f'{rates["lidar/points"]:.1f} Hz, imu/data {rates["imu/data"]:.0f} Hz',
                   f'lidar WARN "{report[4][:40]}", {counter} +{int(final[counter]) - before}',
                   report[0] - started, recovered[0] - ended)


def _sending(command: list[str], marker: str) -> tuple[subprocess.Popen, float]:
    """Starts a publisher script and returns it with the time it printed ``marker`` (the start
    of its attack, once discovery is done)."""
    process = subprocess.Popen([sys.executable, *command], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, cwd=HERE)
    for line in process.stdout:
        if line.startswith(marker):
            return process, time.monotonic()
    raise AssertionError(f'{command[0]} ended (exit {process.wait()}) before {marker!r}')


BAD_REASONS = ('encoding', 'zero_size', 'short_data', 'step')


def _image_attacks(attack: Attack) -> None:
    photo = str(photos_dir() / 'grace_hopper.jpg')
    inference = 'perception: inference'

    def counters() -> dict:
        return attack.watcher.latest(inference, topic=DIAG)[5]

    for label, command, marker, reasons in (
            ('bad images (encoding, zero size, short data, step), 40 at 20 Hz',
             [str(HERE / 'image_publisher.py'), 'camera/image_raw', photo, '--rate', '20',
              '--seconds', '10', '--bad', '40'], 'sending:', BAD_REASONS),
            ('huge images: 3 of 8000x8000 bgr8, 3 of 4000x3000 mono8',
             [str(HERE / 'burst_publisher.py'), 'camera/image_raw', photo, '--huge', '3',
              '--over', '3', '--lead', '1', '--rate', '5', '--seconds', '10'], 'burst:',
             ('too_many_pixels', 'too_many_bytes'))):
        attack.settled()
        before = counters()

        def grown(values: dict) -> dict[str, int]:
            return {reason: int(values.get(f'dropped_{reason}', 0))
                    - int(before.get(f'dropped_{reason}', 0)) for reason in reasons
                    if int(values.get(f'dropped_{reason}', 0))
                    > int(before.get(f'dropped_{reason}', 0))}

        publisher, started = _sending(command, marker)
        try:
            report = attack.wait(lambda: attack.watcher.first(
                inference, topic=DIAG, since=started, values=grown), SETTLE_S,
                f'perception to count the {label} on {DIAG}')
            assert publisher.wait(120) == 0, publisher.stdout.read()
        finally:
            if publisher.poll() is None:
                publisher.kill()
        ended = time.monotonic()
        rates = attack.flowing(started, ended)
        resumed = attack.wait(lambda: attack.watcher.first(
            '/jetson_edge/perception/perception/detections', since=ended, level=OK), SETTLE_S,
            f'detections back at their rate on {AGG}')
        attack.row(f'{label}; lidar/points {rates["lidar/points"]:.1f} Hz, imu/data '
                   f'{rates["imu/data"]:.0f} Hz', f'perception counted {grown(counters())}',
                   report[0] - started, resumed[0] - ended)


def _freeze_each(attack: Attack) -> None:
    for process, members in attack.processes.items():
        attack.settled()
        pid = current_pids(attack.suite.output())[process]
        stopped = time.monotonic()
        os.kill(pid, signal.SIGSTOP)
        reports = {}
        try:
            for key in members:   # a frozen process group: each of its nodes named
                if key == 'monitor':
                    # Nothing watches the watcher: a frozen monitor is a silent
                    # /diagnostics_agg, which rqt_robot_monitor shows as stale. Only the
                    # recovery is checked.
                    time.sleep(2.0)
                    continue
                reports[key] = attack.wait(lambda: attack.watcher.first(
                    f'/jetson_edge/{key}', since=stopped, level=ERROR), SETTLE_S,
                    f'{key} named ERROR on {AGG} while {process} is stopped')
                assert 'hung, stopped or dead' in reports[key][4], reports[key]
            for key in members:
                if key in STALENESS_OF:  # the driver's own staleness bound on a frozen input
                    stale = attack.wait(lambda: attack.watcher.first(
                        STALENESS_OF[key], topic=DIAG, since=stopped, level=ERROR), SETTLE_S,
                        f'{STALENESS_OF[key]} ERROR while {key} is stopped')
                    attack.row(f'SIGSTOP {key}: its driver\'s input stalls',
                               f'{DIAG} {STALENESS_OF[key]} ERROR "{stale[4][:40]}"',
                               stale[0] - stopped)
        finally:
            os.kill(pid, signal.SIGCONT)
        resumed = time.monotonic()
        for key in members:
            back = attack.wait(lambda: attack.watcher.first(
                f'/jetson_edge/{key}' if key != 'monitor' else '/jetson_edge', since=resumed,
                level=NOT_ERROR), SETTLE_S, f'{key} out of ERROR on {AGG} after SIGCONT')
            report = reports.get(key)
            attack.row(f'SIGSTOP {process}: {key}', 'not reported (the monitor itself)'
                       if report is None else f'{AGG} ERROR "{report[4][:40]}"',
                       None if report is None else report[0] - stopped, back[0] - resumed)


def _kill_each(attack: Attack) -> None:
    for process, members in attack.processes.items():
        attack.settled()
        old = current_pids(attack.suite.output())[process]
        killed = time.monotonic()
        os.kill(old, signal.SIGKILL)
        new = attack.wait(lambda: current_pids(attack.suite.output())[process] != old
                          and current_pids(attack.suite.output())[process], RESTART_S,
                          f'the supervisor to restart {process}')
        restarted = time.monotonic()
        for key in members:
            if key == 'monitor':
                report = None
                back = attack.wait(lambda: attack.watcher.first('/jetson_edge', since=restarted),
                                   RESTART_S, f'{AGG} from the restarted monitor')
            else:
                # the runner's report, relayed by the monitor: "exited with signal 9 (SIGKILL)"
                # while it waits out the back-off, "last exit signal 9 (SIGKILL)" once
                # restarted (a group's members share their runner's report)
                report = attack.wait(lambda: attack.watcher.first(
                    f'node_runner: {key}', topic=DIAG, since=killed,
                    contains='signal 9 (SIGKILL)'), RESTART_S,
                    f'the kill of {process} reported on {DIAG} for {key}')
                back = attack.wait(lambda: attack.watcher.first(
                    f'/jetson_edge/{key}', since=killed, level=NOT_ERROR,
                    values=lambda v: v.get('restarts') == '1'), RESTART_S,
                    f'{key} back, restarted once, out of ERROR on {AGG}')
            attack.row(f'SIGKILL {process}: {key} (pid {old} -> {new})',
                       'the restarted monitor publishes' if report is None
                       else f'{DIAG} node_runner: {key} "{report[4][:40]}"',
                       None if report is None else report[0] - killed, back[0] - killed)


def _terminate_all(attack: Attack) -> None:
    """SIGTERM to every process at once (what systemd or docker stop send): each ends cleanly,
    exit 0, and its runner starts it again."""
    attack.settled()
    pids = current_pids(attack.suite.output())
    sent = time.monotonic()
    for key in attack.processes:
        os.kill(pids[key], signal.SIGTERM)
    for key in attack.processes:
        attack.wait(lambda: current_pids(attack.suite.output())[key] != pids[key], RESTART_S,
                    f'{key} ended by SIGTERM and started again')
    exits = dict(re.findall(r'\[node_runner\] (\S+) exited with (code \d+|signal \d+ \(\w+\))',
                            attack.suite.output()))
    assert exits == {key: 'code 0' for key in attack.processes}, exits
    attack.settled()
    attack.row('SIGTERM every process at once', 'each runner: "exited with code 0"', None,
               time.monotonic() - sent)


@pytest.mark.long  # the whole attack: about five minutes
def test_attack_on_the_sim_every_fault_reported_every_node_back(start_suite, tmp_path):
    blocker = tmp_path / 'var_lib_jetson_edge'
    blocker.write_text('a file where the calibration directory should be\n')
    calibration = blocker / 'bno055_calibration.json'
    profile = write_profile(tmp_path, {**IMAGES_OVER_DDS, 'imu': {'parameters': {
        'calibration_file': str(calibration)}}}, name='attack')
    plan = load_plan(profile)
    watched = {topic.lstrip('/'): spec for topic, spec in monitored_topics(plan).items()
               if topic.lstrip('/') in FLOWING}
    watcher = AggregateWatcher(watched)
    attack = Attack(watcher, {process.key: [node.key for node in process.members]
                              for process in plan.processes()})
    try:
        started = time.monotonic()
        attack.suite = start_suite(str(profile))
        attack.settled(STARTUP_S)
        up = time.monotonic()
        # failure 1 of the issue: the first calibration save fails; the IMU says so and reads on
        saving = attack.wait(lambda: attack.watcher.first(
            'imu: imu', topic=DIAG, since=started, level=WARN,
            contains=f'cannot save calibration to {calibration}'), SETTLE_S,
            'the IMU\'s WARN that the calibration cannot be saved')
        named = attack.wait(lambda: attack.watcher.first(
            '/jetson_edge/imu', since=started, level=WARN, contains='cannot save calibration'),
            SETTLE_S, f'the IMU\'s WARN named on {AGG}')
        attack.wait(lambda: attack.watcher.arrivals('imu/data', saving[0]) >= 300, SETTLE_S,
                    'imu/data flowing after the failed save')
        attack.row('unwritable IMU calibration path (failure 1)',
                   f'imu WARN "{saving[4][:40]}", on {AGG} +{named[0] - saving[0]:.2f} s',
                   None, None)
        print(f'\nsuite up in {up - started:.1f} s; calibration save WARN '
              f'{saving[0] - started:.1f} s after the start')
        baseline = _rss_over(attack.suite, 3.0, max)

        port = next(n for n in plan.nodes if n.key == 'lidar').parameters['port']
        _udp_attacks(attack, port)
        _image_attacks(attack)
        _freeze_each(attack)
        attacked = _rss_over(attack.suite, 3.0, min)   # the same processes, before any restart
        _kill_each(attack)
        _terminate_all(attack)

        attack.settled()
        final = _rss_over(attack.suite, 3.0, min)     # the runners and the supervisor stay
        print('\nresident memory, MB: before the attacks -> after the input attacks and '
              'freezes -> at the end (every node restarted twice)')
        for role in sorted(baseline):
            print(f'  {role}: {baseline[role]:.0f} -> {attacked.get(role, float("nan")):.0f} '
                  f'-> {final.get(role, float("nan")):.0f}')
        grown = {f'{role} ({when})': after[role] - baseline[role]
                 for when, after in (('attacked', attacked), ('end', final)) for role in baseline
                 if role in after and after[role] - baseline[role] > MEMORY_SLACK_MB}
        assert not grown, grown
        exits = node_exits(attack.suite.output())  # nothing died but what was killed
        assert len(exits) == 2 * len(attack.processes), exits
        assert sum('exited with signal 9 (SIGKILL)' in line for line in exits) == len(
            attack.processes), exits
        assert sum('exited with code 0' in line for line in exits) == len(attack.processes), exits
        assert not calibration.exists()
        print(f'the attack took {time.monotonic() - started:.0f} s')

        # Ctrl-C: every node of the plan ends cleanly (exit 0, no traceback)
        assert attack.suite.stop(timeout=60) == 0, attack.suite.output()[-3000:]
        stopped = dict(re.findall(r'\[node_runner\] (\S+) stopped with exit (\S+)',
                                  attack.suite.output()))
        assert stopped == {key: '0' for key in attack.processes}, stopped
        assert 'Traceback' not in attack.suite.output()
    finally:
        if attack.rows:
            print(f'\n{attack.table()}')
        watcher.close()
