"""One measured loop of `jetson-edge bench rt`, run in its own process so set-ups cannot leak between runs.

    python -m jetson_edge_bench.rt_worker {ours,bare,naive} --rate 500 --priority 80 --cpu 1 --duration 60 --out F.npz
        [--spin-us 100] [--cpus 0]

Both loops run the same work: the balance controller on IMU samples written at 200 Hz by a
non-real-time thread (as a ROS subscription would; for `ours` it is the thread that started the
executor, as in the node), and a hand-off of each command to a publisher
thread. `ours` is the executor with its full set-up and absolute deadlines; `naive` is what a
first Python attempt looks like: no set-up, `time.sleep(period - work)` relative sleeps.
`bare` is the floor of any Python loop: the same clock and real-time set-up as `ours`, but no
work and no other thread, so nothing but the interpreter stands between it and cyclictest.
The output file holds per-cycle wake-up latency and execution time in nanoseconds.
"""
from __future__ import annotations

import argparse
import json
import os
import threading
import time

import numpy as np

from jetson_edge_common.realtime import set_cpu_affinity, set_realtime_priority

from jetson_edge_rt.buffers import LatestValue, PublishHandoff
from jetson_edge_rt.clock import MonotonicClock
from jetson_edge_rt.controllers.balance import BalanceController
from jetson_edge_rt.executor import LoopConfig, LoopRunner, ProcessConfig, RtExecutor
from jetson_edge_rt.inputs import ImuSample
from jetson_edge_rt.rt_setup import hold_cpu_dma_latency, lock_memory

_IMU_PERIOD_S = 0.005


def _feed_imu(imu: LatestValue, stop: threading.Event) -> None:
    while not stop.wait(_IMU_PERIOD_S):
        imu.write_from_non_rt(ImuSample(0.0499792, 0.0, 0.0, 0.9987503, 0.01, -0.02, 0.0, time.monotonic_ns(), True))


def _sink(values: np.ndarray) -> None:
    values.copy()


def run_ours(*, rate: float, priority: int, cpu: int | None, duration: float, spin_us: float) -> dict:
    imu = LatestValue()
    controller = BalanceController()
    controller.configure({}, {'imu': imu})
    runner = LoopRunner(LoopConfig(name='control', rate_hz=rate, priority=priority,
                                   cpus=() if cpu is None else (cpu,), window_s=duration + 5,
                                   spin_us=spin_us),
                        controller, output=PublishHandoff(len(controller.command_names), _sink))
    executor = RtExecutor(ProcessConfig(cpu_dma_latency_us=0), [runner])
    setup = executor.start()
    start = time.monotonic()
    stop = threading.Event()
    # The thread that started the executor feeds the IMU, as the node's ROS executor thread does.
    threading.Timer(duration, stop.set).start()
    _feed_imu(imu, stop)
    executor.stop()
    elapsed = time.monotonic() - start
    latency, exec_ns, _ = runner.recorder.samples()
    return {'latency_ns': latency, 'exec_ns': exec_ns, 'overruns': runner.recorder.overruns_total,
            'cycles': runner.recorder.cycles, 'elapsed_s': elapsed,
            'setup': [list(c) for c in setup]}


def run_bare(*, rate: float, priority: int, cpu: int | None, duration: float) -> dict:
    setup = [('memory', *lock_memory(prefault_bytes=0)),
             ('cpu wake-up latency', *hold_cpu_dma_latency(0)[0]),
             ('scheduling', *set_realtime_priority(priority)),
             ('affinity', *set_cpu_affinity(() if cpu is None else (cpu,)))]
    clock = MonotonicClock()
    period = round(1e9 / rate)
    n = int(duration * rate)
    latency = np.zeros(n, dtype=np.int64)
    start = deadline = clock.now_ns()
    for i in range(n):
        deadline += period
        clock.sleep_until_ns(deadline)
        latency[i] = clock.now_ns() - deadline
    return {'latency_ns': latency, 'exec_ns': np.zeros_like(latency), 'overruns': None, 'cycles': n,
            'elapsed_s': (clock.now_ns() - start) / 1e9, 'setup': [list(c) for c in setup]}


def run_naive(*, rate: float, duration: float) -> dict:
    imu = LatestValue()
    controller = BalanceController()
    controller.configure({}, {'imu': imu})
    command = np.zeros(len(controller.command_names))
    output = PublishHandoff(command.size, _sink)
    output.start()
    stop = threading.Event()
    feeder = threading.Thread(target=_feed_imu, args=(imu, stop), daemon=True)
    feeder.start()
    period_s = 1.0 / rate
    n_max = int(duration * rate * 1.1) + 10
    latency = np.zeros(n_max, dtype=np.int64)
    exec_ns = np.zeros(n_max, dtype=np.int64)
    controller.activate(time.monotonic_ns())
    start = time.monotonic_ns()
    end_at = start + int(duration * 1e9)
    work_ns = 0
    n = 0
    while n < n_max:
        request = max(0.0, period_s - work_ns / 1e9)
        before = time.monotonic_ns()
        time.sleep(request)
        wake = time.monotonic_ns()
        if wake >= end_at:
            break
        controller.update(wake, 0, command)
        output.try_publish(command)
        done = time.monotonic_ns()
        work_ns = done - wake
        latency[n] = wake - before - int(request * 1e9)
        exec_ns[n] = work_ns
        n += 1
    elapsed = (time.monotonic_ns() - start) / 1e9
    stop.set()
    output.stop()
    return {'latency_ns': latency[:n], 'exec_ns': exec_ns[:n], 'overruns': None, 'cycles': n,
            'elapsed_s': elapsed, 'setup': []}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m jetson_edge_bench.rt_worker')
    parser.add_argument('mode', choices=('ours', 'bare', 'naive'))
    parser.add_argument('--rate', type=float, required=True)
    parser.add_argument('--priority', type=int, required=True)
    parser.add_argument('--cpu', type=int, default=None, help='ours, bare: the core their set-up pins them to')
    parser.add_argument('--cpus', default='', help='naive: the cores the kernel lets an ordinary '
                        'process use (what isolcpus= leaves it), e.g. 0,1')
    parser.add_argument('--duration', type=float, required=True)
    parser.add_argument('--spin-us', type=float, default=0.0, help='ours: busy-wait before each deadline')
    parser.add_argument('--out', required=True)
    args = parser.parse_args(argv)
    if args.mode == 'ours':
        result = run_ours(rate=args.rate, priority=args.priority, cpu=args.cpu, duration=args.duration,
                          spin_us=args.spin_us)
    elif args.mode == 'bare':
        result = run_bare(rate=args.rate, priority=args.priority, cpu=args.cpu, duration=args.duration)
    else:
        if args.cpus:
            os.sched_setaffinity(0, [int(c) for c in args.cpus.split(',')])
        result = run_naive(rate=args.rate, duration=args.duration)
    meta = {k: v for k, v in result.items() if k not in ('latency_ns', 'exec_ns')}
    np.savez(args.out, latency_ns=result['latency_ns'], exec_ns=result['exec_ns'], meta=json.dumps(meta))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
