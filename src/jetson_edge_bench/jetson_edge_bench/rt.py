"""`jetson-edge bench rt`: our loop against cyclictest and a naive Python loop, idle and under stress-ng.

All run at the same rate, taking turns in short rounds (`--rounds`) whose samples are pooled
per loop, idle and then with stress-ng loading the machine: on a host whose noise drifts over
minutes, one long run each would compare different minutes, not different loops.
cyclictest and our loop run at the same SCHED_FIFO priority on the loop core, which
stands for a core isolated with isolcpus= on the robot: the kernel keeps ordinary processes off
it, and the bench does the same by hand, so stress-ng and the naive loop (no set-up of its own,
hence no affinity) get the other cores. `--stress-on all` models a robot without an isolated
core: ordinary processes may use every core. Our loop runs twice: `ours` sleeps to each deadline,
like cyclictest; `ours+spin` wakes `--spin-us` (100 us) before it and busy-waits the rest, as the
Jetson profiles configure it for their isolated core (`spin_us`); `--spin-us 0` leaves it out.
`bare` is the floor of any Python loop: the same clock and set-up as ours, no work, no other
thread. A SCHED_FIFO 99 sleeper on the other cores counts
host stalls (a hypervisor that deschedules the machine) in each run. For each we report
wake-up latency p50/p99/p99.9/max, deadline misses (cycles whose wake-up latency plus execution
time exceeded the period, so the next deadline was late), the achieved rate, and the ratios of
p99 latency to cyclictest's p99 measured in the same run. A histogram PNG shows the distributions.

cyclictest (Debian rt-tests) and stress-ng (Debian stress-ng) are installed with apt-get where
the bench can (root, apt-get present); otherwise it says how and skips what is missing.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from jetson_edge_common.stall_monitor import StallMonitor, Stalls

from jetson_edge_rt.timing import percentiles_ns

_HIST_LIMIT_US = 20_000
_TOOLS = {'cyclictest': 'rt-tests', 'stress-ng': 'stress-ng'}


def ensure_tool(binary: str, *, install: bool) -> tuple[str | None, str]:
    """Path of `binary`, installing its Debian package if allowed; (None, how to get it) otherwise."""
    found = shutil.which(binary)
    if found:
        return found, f'{binary}: {found}'
    package = _TOOLS[binary]
    how = f'{binary} not found: install it with `sudo apt-get install {package}`'
    if not install or shutil.which('apt-get') is None or os.geteuid() != 0:
        return None, how
    print(f'installing {package} with apt-get ...', flush=True)
    proc = subprocess.run(['apt-get', 'install', '-y', '--no-install-recommends', package],
                          capture_output=True, text=True, env={**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'})
    found = shutil.which(binary)
    if found:
        return found, f'{binary}: {found} (installed {package})'
    return None, f'{how} (apt-get failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode})'


def parse_cyclictest_histogram(text: str) -> tuple[np.ndarray, int]:
    """Per-sample latencies in ns from cyclictest `-h` output, and its max latency in us.

    Overflowed samples (beyond the histogram) are counted at the reported maximum.
    """
    counts = []
    for line in text.splitlines():
        m = re.match(r'^(\d+)\s+(\d+)\s*$', line)
        if m:
            counts.append((int(m.group(1)), int(m.group(2))))
    max_m = re.search(r'# Max Latencies:\s*(\d+)', text)
    over_m = re.search(r'# Histogram Overflows:\s*(\d+)', text)
    max_us = int(max_m.group(1)) if max_m else 0
    overflows = int(over_m.group(1)) if over_m else 0
    if not counts:
        raise ValueError('no histogram in cyclictest output')
    bins = np.array([b for b, _ in counts], dtype=np.int64)
    freq = np.array([c for _, c in counts], dtype=np.int64)
    samples = np.repeat(bins * 1000, freq)
    if overflows:
        samples = np.concatenate([samples, np.full(overflows, max_us * 1000, dtype=np.int64)])
    return samples, max_us


def run_cyclictest(binary: str, *, rate: float, priority: int, cpu: int, duration: float) -> dict:
    interval_us = round(1e6 / rate)
    cmd = [binary, '--mlockall', f'--priority={priority}', f'--interval={interval_us}', f'--duration={int(duration)}',
           f'--affinity={cpu}', '--threads=1', '--quiet', f'--histogram={_HIST_LIMIT_US}']
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if proc.returncode != 0:
        raise RuntimeError(f'cyclictest failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout[-300:]}')
    latency, _ = parse_cyclictest_histogram(proc.stdout)
    return {'latency_ns': latency, 'exec_ns': np.zeros_like(latency), 'overruns': None, 'cycles': latency.size,
            'elapsed_s': float(int(duration)), 'setup': []}  # it measures for exactly --duration seconds


def run_worker(mode: str, *, rate: float, priority: int, cpu: int, duration: float, tmp: Path,
               ordinary_cpus: list[int], spin_us: float = 0.0) -> dict:
    out = tmp / f'{mode}.npz'
    cmd = [sys.executable, '-m', 'jetson_edge_bench.rt_worker', mode, f'--rate={rate}', f'--priority={priority}',
           f'--cpu={cpu}', f'--cpus={",".join(map(str, ordinary_cpus))}', f'--duration={duration}',
           f'--spin-us={spin_us}', f'--out={out}']
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120,
                          env={**os.environ, 'PYTHONPATH': os.pathsep.join(filter(None, [
                              str(Path(__file__).resolve().parents[1]), os.environ.get('PYTHONPATH')]))})
    if proc.returncode != 0:
        raise RuntimeError(f'{mode} loop failed: {proc.stderr.strip()[-500:]}')
    data = np.load(out)
    meta = json.loads(str(data['meta']))
    return {'latency_ns': data['latency_ns'], 'exec_ns': data['exec_ns'], **meta}


def summarize(run: dict, period_ns: int) -> dict:
    latency = np.asarray(run['latency_ns'])
    p50, p99, p999, pmax = percentiles_ns(latency)
    misses = int(np.count_nonzero(latency + np.asarray(run['exec_ns']) > period_ns))
    return {'cycles': int(latency.size), 'p50_us': p50 / 1e3, 'p99_us': p99 / 1e3, 'p999_us': p999 / 1e3,
            'max_us': pmax / 1e3, 'deadline_misses': misses,
            'loop_overruns': run.get('overruns'),
            'rate_hz': latency.size / run['elapsed_s'] if run['elapsed_s'] else 0.0,
            'host_stalls': run['host_stalls'].count if 'host_stalls' in run else 0,
            'host_stall_ms': run['host_stalls'].total_s * 1e3 if 'host_stalls' in run else 0.0}


def pool(runs: list[dict]) -> dict:
    """The rounds of one loop as one run: samples, time, overruns and host stalls added up,
    plus each round's p99 (us) to show the spread."""
    overruns = [r.get('overruns') for r in runs]
    stalls = [r['host_stalls'] for r in runs if 'host_stalls' in r]
    pooled = {'latency_ns': np.concatenate([np.asarray(r['latency_ns']) for r in runs]),
              'exec_ns': np.concatenate([np.asarray(r['exec_ns']) for r in runs]),
              'elapsed_s': sum(r['elapsed_s'] for r in runs),
              'overruns': None if None in overruns else sum(overruns),
              'setup': runs[0].get('setup', []),
              'round_p99_us': [percentiles_ns(np.asarray(r['latency_ns']))[1] / 1e3 for r in runs]}
    if stalls:
        pooled['host_stalls'] = Stalls(sum(s.count for s in stalls), sum(s.total_s for s in stalls),
                                       max(s.longest_s for s in stalls), sum(s.wakeups for s in stalls))
    return pooled


class Stress:
    """stress-ng loading the given CPUs for as long as the context lasts."""

    def __init__(self, binary: str, cpus: list[int]) -> None:
        self._cmd = [binary, f'--cpu={len(cpus)}', f'--taskset={",".join(map(str, cpus))}', '--timeout=3600s',
                     '--quiet']
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> Stress:
        self._proc = subprocess.Popen(self._cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
        time.sleep(1.0)  # let the workers spin up
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            os.killpg(self._proc.pid, 15)
            self._proc.wait(10)


def plot_histograms(runs: dict[str, dict[str, dict]], *, rate: float, priority: int, path: Path) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    conditions = list(runs)
    all_lat = np.concatenate([np.asarray(r['latency_ns']) for c in conditions for r in runs[c].values()])
    hi = max(float(np.max(all_lat)) / 1e3, 10.0) if all_lat.size else 10.0
    bins = np.logspace(0, np.log10(hi * 1.2), 80)
    colors = {'cyclictest': 'tab:green', 'bare': 'tab:gray', 'ours': 'tab:blue', 'ours+spin': 'tab:purple', 'naive': 'tab:red'}
    fig, axes = plt.subplots(1, len(conditions), figsize=(7 * len(conditions), 5), sharey=True, squeeze=False)
    for ax, condition in zip(axes[0], conditions):
        for name, run in runs[condition].items():
            lat_us = np.clip(np.asarray(run['latency_ns']) / 1e3, 1.0, None)
            p99 = percentiles_ns(np.asarray(run['latency_ns']))[1] / 1e3
            ax.hist(lat_us, bins=bins, histtype='step', linewidth=1.6, color=colors.get(name),
                    label=f'{name} (p99 {p99:.0f} us)')
            ax.axvline(max(p99, 1.0), color=colors.get(name), linestyle='--', linewidth=0.9)
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_title(f'{condition}', fontsize=13)
        ax.set_xlabel('wake-up latency (us, log)', fontsize=11)
        ax.grid(True, which='major', alpha=0.3)
        ax.legend(fontsize=10)
    axes[0][0].set_ylabel('cycles (log)', fontsize=11)
    fig.suptitle(f'Wake-up latency at {rate:g} Hz, SCHED_FIFO {priority} (dashed: p99)', fontsize=14)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog='jetson-edge bench rt', description=__doc__.split('\n\n')[0])
    parser.add_argument('--rate', type=float, default=500.0, help='loop rate in Hz (default 500)')
    parser.add_argument('--priority', type=int, default=80, help='SCHED_FIFO priority for cyclictest and ours')
    parser.add_argument('--cpu', type=int, default=None, help='core for the loops (default: the last allowed one)')
    parser.add_argument('--duration', type=float, default=60.0,
                        help='seconds per loop and condition, all rounds together (default 60)')
    parser.add_argument('--rounds', type=int, default=5,
                        help='split each loop\'s time into this many rounds, the loops taking turns, '
                        'and pool the samples: slow drifts of a noisy host then reach every loop alike '
                        '(default 5)')
    parser.add_argument('--quick', action='store_true', help='5 s per loop')
    parser.add_argument('--stress-on', choices=('others', 'all'), default='others',
                        help='others (default): the loop core stands for an isolated core, so ordinary '
                        'processes (stress-ng, the naive loop) get the other cores; all: no isolated '
                        'core, they may use every core')
    parser.add_argument('--spin-us', type=float, default=100.0,
                        help='our loop wakes this long before each deadline and busy-waits the rest (0: off)')
    parser.add_argument('--no-install', action='store_true', help='never apt-get install cyclictest/stress-ng')
    parser.add_argument('--out', type=Path, default=Path('bench-results/rt'), help='folder for PNG and JSON')
    parser.add_argument('--json', type=Path, default=None, help='also write the result dict here')
    args = parser.parse_args(argv)
    duration = 5.0 if args.quick else args.duration
    allowed = sorted(os.sched_getaffinity(0))
    cpu = allowed[-1] if args.cpu is None else args.cpu
    others = [c for c in allowed if c != cpu] or allowed
    # What isolcpus= does on the robot, done by hand here: ordinary processes stay off the loop core.
    stress_cpus = others if args.stress_on == 'others' else allowed
    period_ns = round(1e9 / args.rate)

    cyclictest, note_ct = ensure_tool('cyclictest', install=not args.no_install)
    stress_ng, note_sn = ensure_tool('stress-ng', install=not args.no_install)
    print(note_ct)
    print(note_sn)
    rounds = max(1, min(args.rounds, int(duration)))  # cyclictest runs whole seconds
    print(f'{args.rate:g} Hz, priority {args.priority}, CPU {cpu}, {duration:g} s per loop in {rounds} '
          f'rounds taking turns, ours+spin spinning the last '
          f'{args.spin_us:g} us before each deadline, ordinary processes (stress-ng, the naive loop) on CPUs {stress_cpus}'
          f'{"" if stress_ng else " (no stress-ng: stressed runs skipped)"}', flush=True)

    runs: dict[str, dict[str, dict]] = {}
    errors: list[str] = []
    loops = ['cyclictest', 'bare', 'ours'] + (['ours+spin'] if args.spin_us > 0 else []) + ['naive']
    conditions = ['idle'] + (['stress'] if stress_ng else [])
    with tempfile.TemporaryDirectory() as tmp_dir, StallMonitor(cpus=tuple(others)) as monitor:
        tmp = Path(tmp_dir)
        for condition in conditions:
            rounds_of: dict[str, list[dict]] = {}
            load = Stress(stress_ng, stress_cpus) if condition == 'stress' else contextlib.nullcontext()
            with load:
                for turn in range(rounds):
                    for name in loops:
                        if name == 'cyclictest' and cyclictest is None:
                            continue
                        print(f'  {condition:6s} round {turn + 1}/{rounds} {name:10s} ...', flush=True)
                        mark = monitor.mark()
                        try:
                            if name == 'cyclictest':
                                run = run_cyclictest(cyclictest, rate=args.rate, priority=args.priority,
                                                     cpu=cpu, duration=duration / rounds)
                            else:
                                run = run_worker(name.split('+')[0], rate=args.rate, priority=args.priority,
                                                 cpu=cpu, duration=duration / rounds, tmp=tmp,
                                                 ordinary_cpus=stress_cpus,
                                                 spin_us=args.spin_us if name == 'ours+spin' else 0.0)
                        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
                            errors.append(f'{condition} round {turn + 1} {name}: {exc}')
                            continue
                        run['host_stalls'] = monitor.since(mark)
                        rounds_of.setdefault(name, []).append(run)
            runs[condition] = {name: pool(rs) for name, rs in rounds_of.items()}

    summary = {c: {n: summarize(r, period_ns) for n, r in rs.items()} for c, rs in runs.items()}
    stall_threshold_ms = monitor.threshold_s * 1e3
    for condition, rs in summary.items():
        ref = rs.get('cyclictest', {}).get('p99_us')
        ref_rounds = runs[condition].get('cyclictest', {}).get('round_p99_us', [])
        for name, stats in rs.items():
            stats['p99_vs_cyclictest'] = _ratio(stats['p99_us'], ref) if ref else None
            stats['round_p99_us'] = runs[condition][name]['round_p99_us']
            # Round k of every loop ran back to back: its ratio is one same-conditions sample.
            stats['round_p99_vs_cyclictest'] = [
                _ratio(a, b) for a, b in zip(stats['round_p99_us'], ref_rounds)
                if len(ref_rounds) == len(stats['round_p99_us'])]

    header = f'{"condition":9s} {"loop":10s} {"cycles":>7s} {"rate Hz":>8s} {"p50 us":>8s} {"p99 us":>8s} ' \
             f'{"p99.9 us":>9s} {"max us":>8s} {"misses":>7s} {"p99/ct":>7s} {"host stalls":>12s}'
    print()
    print(header)
    print('-' * len(header))
    for condition, rs in summary.items():
        for name, s in rs.items():
            ratio = '-' if s['p99_vs_cyclictest'] is None else f"{s['p99_vs_cyclictest']:.2f}"
            stalls = f'{s["host_stalls"]} / {s["host_stall_ms"]:.0f} ms'
            print(f'{condition:9s} {name:10s} {s["cycles"]:7d} {s["rate_hz"]:8.1f} {s["p50_us"]:8.1f} '
                  f'{s["p99_us"]:8.1f} {s["p999_us"]:9.1f} {s["max_us"]:8.1f} {s["deadline_misses"]:7d} '
                  f'{ratio:>7s} {stalls:>12s}')
    if rounds > 1:
        print()
        print('p99 per round (us), and its ratio to cyclictest\'s in the same round:')
        for condition, rs in summary.items():
            for name, st in rs.items():
                ratios = [r for r in st['round_p99_vs_cyclictest'] if r is not None]
                spread = (f'  ratio {min(ratios):.2f}-{max(ratios):.2f}, median {np.median(ratios):.2f}'
                          if ratios and name != 'cyclictest' else '')
                print(f'  {condition:6s} {name:10s} ' + ' '.join(f'{p:6.1f}' for p in st['round_p99_us']) + spread)
    print(f'misses: cycles whose wake-up latency plus work overran the period; host stalls: wake-ups more than '
          f'{stall_threshold_ms:g} ms late of a SCHED_FIFO 99 sleeper on CPUs {others} in the same run (count / total)')

    targets = {}
    for ours in (name for name in loops if name.startswith('ours')):
        for condition, rs in summary.items():
            if ours in rs and 'cyclictest' in rs:
                r = rs[ours]['p99_vs_cyclictest']
                targets[f'{condition}: {ours} p99 within 1.2x of cyclictest p99'] = (
                    r is not None and r <= 1.2, f'{r:.2f}x (pooled over {rounds} rounds)')
        stress = summary.get('stress', {})
        if ours in stress and 'naive' in stress:
            r = _ratio(stress['naive']['p99_us'], stress[ours]['p99_us'])
            targets[f'stress: {ours} p99 at least 5x better than naive'] = (r is not None and r >= 5.0,
                                                                           f'{r:.1f}x')
        if ours in summary.get('idle', {}):
            idle = summary['idle']
            misses = idle[ours]['deadline_misses']
            full = args.rate == 500 and duration >= 60
            reference = idle.get('cyclictest', {}).get('deadline_misses')
            detail = (f'{misses} misses, {idle[ours]["host_stalls"]} host stalls in the run'
                      + ('' if reference is None else f' (cyclictest in the same run: {reference} misses)'))
            if not full:
                detail += f'; ran {args.rate:g} Hz for {duration:g} s: not the target run'
            targets[f'idle: {ours} no overruns at 500 Hz over 60 s'] = (misses == 0 if full else None, detail)
    print()
    for name, (ok, detail) in targets.items():
        print(f'{"PASS" if ok else "n/a " if ok is None else "FAIL"}  {name}: {detail}')
    for error in errors:
        print(f'ERROR {error}')
    ours_setup = runs.get('idle', {}).get('ours', {}).get('setup', [])
    for name, ok, message in ours_setup:
        if not ok:
            print(f'DEGRADED set-up of our loop: {name}: {message}')

    args.out.mkdir(parents=True, exist_ok=True)
    png = args.out / 'rt_latency_histogram.png'
    if runs:
        plot_histograms(runs, rate=args.rate, priority=args.priority, path=png)
        print(f'histogram: {png}')
    result = {'rate_hz': args.rate, 'priority': args.priority, 'cpu': cpu, 'duration_s': duration,
              'rounds': rounds,
              'spin_us': args.spin_us,
              'stress_cpus': stress_cpus, 'results': summary, 'targets': {k: v[0] for k, v in targets.items()},
              'errors': errors, 'setup': ours_setup, 'histogram_png': str(png)}
    (args.out / 'rt_bench.json').write_text(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == '__main__':
    main(sys.argv[1:])
