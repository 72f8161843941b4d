"""``jetson-edge bench power``: the manager's CPU share and its reaction time, on the sim board.

1. CPU share: the manager (psutil, NVML probe, every sysfs reader, policy, actuators) runs in
   its own process at 2 Hz and at 10 Hz against a thermal-model tree kept changing by this
   process; its CPU time over wall time is reported as a share of one core, next to a busy
   loop measured the same way (the reference, ~100 %).
2. Reaction: the model heats past the WARM threshold while the manager samples on a thread at
   the given rate; the time from the model writing the first above-threshold temperature to
   the manager having applied its action (fan written, rate requested) is compared with the
   sampling period.  Targets: < 1 % of a core at 2 Hz; action within one sampling period.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import psutil

from jetson_edge_power.actuators import FanActuator, NvpmodelActuator
from jetson_edge_power.hardware import layout_of
from jetson_edge_power.manager import PowerManager
from jetson_edge_power.monitor import BoardMonitor
from jetson_edge_power.policy import ThermalPolicy
from jetson_edge_power.sysfs import SysfsRoot
from jetson_edge_sim.power.sim_loop import default_policy_config
from jetson_edge_sim.power.sim_tools import in_process_runner, tool_command
from jetson_edge_sim.power.thermal_model import ThermalModel, ThermalModelParams


def _build_manager(root: str, *, use_psutil: bool = True) -> PowerManager:
    layout, _ = layout_of('sim')
    sysfs = SysfsRoot(root)
    return PowerManager(
        BoardMonitor(layout, sysfs, use_psutil=use_psutil, use_nvml=True,
                     suite_pattern='jetson_edge'),
        ThermalPolicy(default_policy_config(layout)),
        nvpmodel=NvpmodelActuator(layout, command=tool_command('nvpmodel', root=root),
                                  runner=in_process_runner),
        fan=FanActuator(layout, sysfs), asks_perception=True)


def _worker(root: str, rate_hz: float, duration_s: float) -> None:
    manager = _build_manager(root)
    period = 1.0 / rate_hz
    deadline = time.monotonic()
    end = deadline + duration_s
    while deadline < end:
        manager.apply(manager.tick().actions)
        deadline += period
        time.sleep(max(0.0, deadline - time.monotonic()))


def _busy(duration_s: float) -> None:
    end = time.monotonic() + duration_s
    while time.monotonic() < end:
        pass


def _cpu_share(argv: list[str], duration_s: float, model: ThermalModel | None) -> float:
    """CPU seconds per wall second of the child, measured after its start-up."""
    proc = psutil.Popen(argv)
    time.sleep(1.5)  # skip interpreter start-up and imports
    before, t0 = proc.cpu_times(), time.monotonic()
    while proc.poll() is None:
        if model is not None:
            model.step(0.1)
        time.sleep(0.1)
        try:
            after, t1 = proc.cpu_times(), time.monotonic()
        except psutil.NoSuchProcess:
            break
    proc.wait()
    return ((after.user + after.system) - (before.user + before.system)) / (t1 - t0)


def _reaction(root: str, rate_hz: float, trials: int) -> list[float]:
    """Seconds from the first above-WARM temperature written to the action applied."""
    layout, _ = layout_of('sim')
    latencies = []
    for trial in range(trials):
        trial_root = os.path.join(root, f'reaction_{rate_hz:g}_{trial}')
        model = ThermalModel(layout, trial_root, initial_c=60.0,
                             params=ThermalModelParams(heat_capacity_j_per_c=2.0))
        applied = threading.Event()
        applied_at = [0.0]

        def tick() -> None:
            actions = manager.tick().actions
            manager.apply(actions)
            if actions.perception_load is not None and actions.perception_load < 1.0 \
                    and not applied.is_set():
                applied_at[0] = time.monotonic()
                applied.set()
        manager = _build_manager(trial_root, use_psutil=False)
        tick()  # settle at NOMINAL first
        stop = threading.Event()

        def sample_loop() -> None:
            period = 1.0 / rate_hz
            deadline = time.monotonic() + (trial / trials) * period  # vary the phase
            while not stop.is_set():
                time.sleep(max(0.0, deadline - time.monotonic()))
                tick()
                deadline += period
        sampler = threading.Thread(target=sample_loop, daemon=True)
        sampler.start()
        model.set_load(cpu_load=1.0, inference_rate_hz=30.0)
        crossed_at = None
        warm = default_policy_config(layout).warm_c
        while not applied.wait(0.002):
            model.step(0.002)
            hottest = _hottest(trial_root)
            if crossed_at is None and hottest >= warm:
                crossed_at = time.monotonic()
        stop.set()
        sampler.join(2.0)
        if crossed_at is not None:
            latencies.append(applied_at[0] - crossed_at)
    return latencies


def _hottest(root: str) -> float:
    hottest = float('-inf')
    base = os.path.join(root, 'sys/class/thermal')
    for zone in os.listdir(base):
        with open(os.path.join(base, zone, 'temp'), encoding='ascii') as handle:
            hottest = max(hottest, int(handle.read()) / 1000.0)
    return hottest


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog='jetson-edge bench power', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--duration', type=float, default=10.0,
                        help='seconds of each CPU-share run (default 10)')
    parser.add_argument('--trials', type=int, default=5,
                        help='threshold crossings per sampling rate (default 5)')
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument('--worker', nargs=3, metavar=('ROOT', 'RATE', 'DURATION'),
                        help=argparse.SUPPRESS)
    parser.add_argument('--busy', type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker[0], float(args.worker[1]), float(args.worker[2]))
        return {}
    if args.busy:
        _busy(args.busy)
        return {}

    layout, _ = layout_of('sim')
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix='jetson_edge_bench_') as root:
        model = ThermalModel(layout, root, initial_c=50.0)
        model.set_load(cpu_load=0.5, inference_rate_hz=30.0)
        me = [sys.executable, '-m', 'jetson_edge_bench.power']
        busy = _cpu_share(me + ['--busy', str(args.duration + 1.5)], args.duration, None)
        results['busy_loop_core_pct'] = 100.0 * busy
        for rate in (2.0, 10.0):
            share = _cpu_share(me + ['--worker', root, str(rate), str(args.duration + 1.5)],
                               args.duration, model)
            results[f'manager_{rate:g}hz_core_pct'] = 100.0 * share
            results[f'manager_{rate:g}hz_vs_busy_loop'] = share / busy
        for rate in (2.0, 10.0):
            lat = _reaction(root, rate, args.trials)
            period = 1.0 / rate
            results[f'reaction_{rate:g}hz_median_ms'] = 1000 * statistics.median(lat)
            results[f'reaction_{rate:g}hz_max_ms'] = 1000 * max(lat)
            results[f'reaction_{rate:g}hz_max_over_period'] = max(lat) / period

    print(f'{"metric":<36}{"value":>12}')
    for key, value in results.items():
        print(f'{key:<36}{value:>12.4f}')
    print('targets: manager_2hz_core_pct < 1.0; reaction_*_max_over_period <= 1.0')
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as handle:
            json.dump(results, handle, indent=2)
    return results


if __name__ == '__main__':
    main()
