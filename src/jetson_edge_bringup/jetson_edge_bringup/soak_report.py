"""Pure evaluation of a soak run: memory growth per process, topic rates and gaps, restarts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jetson_edge_common.diagnostics import Level

MEMORY_GROWTH_LIMIT = 0.05   # 5 % from the end of warm-up to the end of the run
RATE_FLOOR = 0.9             # a topic must average at least 90 % of its expected rate
GAP_PERIODS = 10             # and never go silent for longer than 10 expected periods
MIN_GAP_S = 0.5              # or half a second, whichever is longer: a shorter pause of a fast
                             # topic is the host's scheduler (a loaded laptop), not a stalled node
SUITE_MEMORY_TARGET_MB = 1024.0   # issue 17: the whole sim suite in 1.0 GiB of memory


@dataclass
class TopicResult:
    topic: str
    expected_hz: float
    received: int
    mean_hz: float
    max_gap_s: float
    ok: bool


@dataclass
class ProcessResult:
    key: str
    rss_start_mb: float
    rss_end_mb: float
    pss_end_mb: float   # proportional set size: each page shared with other processes split
    growth: float
    restarts: int
    ok: bool
    members: tuple[str, ...] = ()   # the nodes it runs (a process group's members)


def _settled(values: list[float]) -> float:
    """Median of a few samples, robust to one noisy reading."""
    return float(np.median(values)) if values else float('nan')


def memory_result(key: str, samples: list[tuple[float, float, float]], *, warmup_s: float,
                  restarts: int, members: tuple[str, ...] = ()) -> ProcessResult:
    """``samples`` are (seconds since start, RSS bytes, PSS bytes). Growth is judged on RSS:
    a process's PSS also moves when another process that shares its pages starts or stops."""
    after = [(rss, pss) for t, rss, pss in samples if t >= warmup_s]
    if len(after) < 2:
        after = [(rss, pss) for _, rss, pss in samples]
    window = max(1, len(after) // 10)
    start = _settled([rss for rss, _ in after[:window]])
    end = _settled([rss for rss, _ in after[-window:]])
    pss_end = _settled([pss for _, pss in after[-window:]])
    growth = (end - start) / start if start else float('nan')
    ok = restarts == 0 and not (growth > MEMORY_GROWTH_LIMIT)
    return ProcessResult(key, start / 2**20, end / 2**20, pss_end / 2**20, growth, restarts, ok,
                         members or (key,))


def topic_result(topic: str, stamps: list[float], *, expected_hz: float, start: float,
                 end: float) -> TopicResult:
    inside = [t for t in stamps if start <= t <= end]
    span = end - start
    mean = len(inside) / span if span > 0 else 0.0
    edges = [start] + inside + [end]
    max_gap = float(np.max(np.diff(edges))) if len(edges) > 1 else span
    ok = mean >= RATE_FLOOR * expected_hz and (
        expected_hz <= 0 or max_gap <= max(GAP_PERIODS / expected_hz, MIN_GAP_S))
    return TopicResult(topic, expected_hz, len(inside), mean, max_gap, ok)


def memory_total(processes: list[ProcessResult], *, floor_mb: float | None = None) -> str:
    """The suite's memory at the end: the sum of PSS (what the suite takes from the board:
    a page that several processes map, a library's code, counted once) against the target; the
    sum of RSS (which counts such a page once per process that maps it); and RSS against as
    many bare rclpy processes (``floor_mb``, measured in the same run)."""
    pss = sum(p.pss_end_mb for p in processes)
    rss = sum(p.rss_end_mb for p in processes)
    verdict = 'met' if pss <= SUITE_MEMORY_TARGET_MB else 'NOT met'
    line = (f'total PSS end {pss:.1f} MB in {len(processes)} processes, '
            f'{pss / SUITE_MEMORY_TARGET_MB:.2f} x the target of {SUITE_MEMORY_TARGET_MB:.0f} MB '
            f'({verdict}); total RSS end {rss:.1f} MB (shared pages counted once per process)')
    if floor_mb:
        line += (f'; a bare rclpy node {floor_mb:.1f} MB RSS, the processes '
                 f'{rss / (floor_mb * len(processes)):.2f} x as many bare ones')
    return line


def format_report(processes: list[ProcessResult], topics: list[TopicResult],
                  diagnostics: dict[str, tuple[int, str]], *,
                  floor_mb: float | None = None) -> str:
    """The report; with ``floor_mb`` (a bare rclpy node's RSS) each process's RSS as a multiple
    of it."""
    lines = ['process            RSS start MB   RSS end MB   PSS end MB   growth   restarts   ok'
             '   x floor   members']
    for p in processes:
        ratio = f'{p.rss_end_mb / floor_mb:>7.2f}' if floor_mb else f'{"-":>7}'
        lines.append(f'{p.key:<18} {p.rss_start_mb:>12.1f} {p.rss_end_mb:>12.1f} '
                     f'{p.pss_end_mb:>12.1f} {p.growth * 100:>7.2f}% {p.restarts:>10}   '
                     f'{"yes" if p.ok else "NO ":<3}  {ratio}   {",".join(p.members)}')
    lines.append('')
    lines.append(memory_total(processes, floor_mb=floor_mb))
    lines.append('')
    lines.append('topic                          expected Hz   mean Hz   received   max gap s   ok')
    for t in topics:
        lines.append(f'{t.topic:<30} {t.expected_hz:>11.1f} {t.mean_hz:>9.2f} {t.received:>10} '
                     f'{t.max_gap_s:>11.3f}   {"yes" if t.ok else "NO"}')
    lines.append('')
    lines.append('diagnostics (last level)')
    for name, (level, message) in sorted(diagnostics.items()):
        lines.append(f'  {Level(level).name if level <= Level.STALE else level:<5} {name}: {message}')
    return '\n'.join(lines)
