"""A dependency-free download progress bar for the CLI (plain lines when not a TTY)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Callable ``(done, total)``; redraws at most 10 times a second."""

    def __init__(self, label: str, *, stream: TextIO | None = None, width: int = 30):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        fraction = done / total if total else 1.0
        if self.tty:
            if now - self._last_draw < 0.1 and done < total:
                return
            self._last_draw = now
            filled = int(fraction * self.width)
            rate = done / max(now - self._start, 1e-6) / (1 << 20)
            self.stream.write(f'\r{self.label} [{"#" * filled}{"." * (self.width - filled)}] '
                              f'{fraction:6.1%} {done / (1 << 20):.1f}/{total / (1 << 20):.1f} MiB '
                              f'{rate:.1f} MiB/s')
            if done >= total:
                self.stream.write('\n')
        else:
            decile = int(fraction * 10)
            if decile == self._last_decile:
                return
            self._last_decile = decile
            self.stream.write(f'{self.label}: {decile * 10}% of {total / (1 << 20):.1f} MiB\n')
        self.stream.flush()
