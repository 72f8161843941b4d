"""``tegrastats`` as a live second source: the tool runs as a child, a thread keeps its last line.

Lines that do not parse are counted and the first of each kind is logged; the child's exit is
noticed and reported through :attr:`TegrastatsSource.error`, never raised into the caller.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Sequence

from jetson_edge_power.errors import BinaryNotFoundError, TegrastatsParseError
from jetson_edge_power.tegrastats import TegrastatsSample, parse_tegrastats_line

_LOG = logging.getLogger(__name__)


class TegrastatsSource:
    def __init__(self, *, command: Sequence[str] = ('tegrastats',), interval_ms: int = 1000,
                 logger: logging.Logger | None = None) -> None:
        self._argv = [*command, '--interval', str(interval_ms)]
        self._log = logger or _LOG
        self._lock = threading.Lock()
        self._latest: TegrastatsSample | None = None
        self._latest_at = float('-inf')
        self.bad_lines = 0
        self.error = ''
        try:
            self._proc = subprocess.Popen(self._argv, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True, bufsize=1)
        except FileNotFoundError as exc:
            raise BinaryNotFoundError(
                f'{command[0]} not found: it ships with L4T (nvidia-l4t-tools); set '
                'tegrastats_interval_ms to 0 off a Jetson') from exc
        self._thread = threading.Thread(target=self._read, name='tegrastats', daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                sample = parse_tegrastats_line(line)
            except TegrastatsParseError as exc:
                self.bad_lines += 1
                if self.bad_lines == 1:
                    self._log.warning('tegrastats: %s (further bad lines only counted)', exc)
                continue
            with self._lock:
                self._latest, self._latest_at = sample, time.monotonic()
        code = self._proc.wait()
        self.error = f'{self._argv[0]} exited with code {code}'
        self._log.error('tegrastats: %s; its metrics are no longer reported', self.error)

    def latest(self, *, max_age_s: float = 5.0) -> TegrastatsSample | None:
        """The newest parsed sample, or ``None`` if there is none younger than ``max_age_s``."""
        with self._lock:
            if time.monotonic() - self._latest_at > max_age_s:
                return None
            return self._latest

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5.0)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._thread.join(5.0)
