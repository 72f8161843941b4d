"""Helpers of the system tests: the suite as a background process, and a DDS probe that
listens from a separate process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


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



def probe(topic: str, msg_type: str, *, seconds: float = 5.0, wait: float = 120.0,
          qos: str = 'reliable', keep: int = 3) -> dict:
    """Listens to ``topic`` from a separate process for ``seconds`` after the first message
    (given up on after ``wait`` seconds of nothing) and returns what arrived."""
    cmd = [sys.executable, str(HERE / 'ros_probe.py'), topic, msg_type, '--seconds', str(seconds),
           '--wait', str(wait), '--qos', qos, '--keep', str(keep)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=wait + seconds + 60)
    if done.returncode != 0:
        raise AssertionError(f'probe failed: {done.stderr[-3000:]}')
    return json.loads(done.stdout.strip().splitlines()[-1])
