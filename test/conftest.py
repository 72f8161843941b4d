"""System-test fixtures: the suite started as real processes, probed over real DDS.

Every test session gets its own ROS_DOMAIN_ID, so parallel runs on one machine do not hear
each other, and discovery stays on this host.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def pytest_configure(config):
    os.environ.setdefault('ROS_DOMAIN_ID', str(1 + os.getpid() % 100))
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    os.environ['PYTHONUNBUFFERED'] = '1'


class Suite:
    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors='replace')

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture
def start_suite(tmp_path):
    """``start_suite(profile='sim', only=['lidar'])`` runs ``jetson-edge up`` in the background."""
    suites: list[Suite] = []

    def start(profile: str = 'sim', only: list[str] | None = None,
              extra: list[str] | None = None) -> Suite:
        log = tmp_path / f'suite-{len(suites)}.log'
        cmd = ['jetson-edge', 'up', '--profile', profile]
        if only:
            cmd += ['--only', ','.join(only)]
        cmd += extra or []
        handle = open(log, 'wb')
        process = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT,
                                   start_new_session=True)
        suite = Suite(process, log)
        suites.append(suite)
        return suite

    yield start
    for suite in suites:
        code = suite.stop()
        print(f'--- suite log (exit {code}) ---\n{suite.output()[-5000:]}')


def probe(topic: str, msg_type: str, *, seconds: float = 5.0, wait: float = 30.0,
          qos: str = 'reliable', keep: int = 3) -> dict:
    """Listens to ``topic`` from a separate process and returns what arrived."""
    cmd = [sys.executable, str(HERE / 'ros_probe.py'), topic, msg_type, '--seconds', str(seconds),
           '--wait', str(wait), '--qos', qos, '--keep', str(keep)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=wait + seconds + 60)
    if done.returncode != 0:
        raise AssertionError(f'probe failed: {done.stderr[-3000:]}')
    return json.loads(done.stdout.strip().splitlines()[-1])
