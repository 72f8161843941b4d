"""CPU load, memory, swap and the suite's own memory, through psutil.

psutil's per-core load is measured between calls, so the first sample after construction is
primed here rather than reported as a misleading 0 %.  The suite's processes are found by a
command-line substring and re-scanned at most every ``process_scan_s`` seconds, since walking
``/proc`` costs more than everything else in a sample.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class SystemStats:
    cpu_load_pct: tuple[float, ...]
    mem_total_bytes: int
    mem_available_bytes: int
    swap_total_bytes: int
    swap_used_bytes: int
    suite_rss_bytes: int | None
    suite_processes: int | None

    @property
    def mem_used_fraction(self) -> float:
        if self.mem_total_bytes <= 0:
            return 0.0
        return 1.0 - self.mem_available_bytes / self.mem_total_bytes


class SystemStatsReader:
    def __init__(self, *, suite_pattern: str = '', process_scan_s: float = 5.0) -> None:
        self._pattern = suite_pattern
        self._scan_s = process_scan_s
        self._procs: list[psutil.Process] = []
        self._last_scan = float('-inf')
        psutil.cpu_percent(percpu=True)  # prime: the next call measures from here

    def read(self) -> SystemStats:
        vm = psutil.virtual_memory()
        sw = psutil.swap_memory()
        rss, count = self._suite_rss()
        return SystemStats(
            cpu_load_pct=tuple(psutil.cpu_percent(percpu=True)),
            mem_total_bytes=int(vm.total),
            mem_available_bytes=int(vm.available),
            swap_total_bytes=int(sw.total),
            swap_used_bytes=int(sw.used),
            suite_rss_bytes=rss,
            suite_processes=count,
        )

    def _suite_rss(self) -> tuple[int | None, int | None]:
        if not self._pattern:
            return None, None
        now = time.monotonic()
        if now - self._last_scan >= self._scan_s:
            self._last_scan = now
            found = []
            for proc in psutil.process_iter(['cmdline']):
                cmdline = ' '.join(proc.info.get('cmdline') or ())
                if self._pattern in cmdline:
                    found.append(proc)
            self._procs = found
        total = 0
        alive = []
        for proc in self._procs:
            try:
                total += proc.memory_info().rss
                alive.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        self._procs = alive
        return total, len(alive)
