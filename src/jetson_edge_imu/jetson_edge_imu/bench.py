"""``jetson-edge bench imu``: emulator -> pty -> driver node -> subscriber in another process.

Three processes, as on a robot: the emulated BNO055 (its own process, serving the UART
protocol on a pseudo-terminal), the production ``imu_node`` (reading through pyserial, decoding,
checking, stamping, publishing ``imu/data`` and ``imu/data_raw``), and this process subscribing
over DDS. Reported: achieved rate, missing samples (gaps in the header stamps), p50/p99 of the
inter-arrival interval at the subscriber, and the driver's CPU share (psutil).

The reference, measured in the same run on the same machine: a bare publisher process that
paces the same way and publishes the same two messages with no device IO at all. The driver's
CPU share is reported against it, since absolute numbers on a shared 2-core VM mean little.

A pty is not baud-limited. A real BNO055 UART at 115200 baud carries at most ~300 fusion frames
per second (38 bytes per request/response, 10 bits per byte) and the BNO055's fusion output
itself updates at 100 Hz, so 1 kHz through this path measures the driver, not a device.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time

_MESSAGES = ('imu/data', 'imu/data_raw')


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float('nan')
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[k]


class _Subscriber:
    """Records arrival times and header stamps of ``imu/data`` from a spinning thread."""

    def __init__(self, node, topic: str) -> None:
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Imu

        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=200,
                         reliability=ReliabilityPolicy.BEST_EFFORT)
        self.arrivals: list[int] = []
        self.stamps: list[int] = []
        self.recording = False
        node.create_subscription(Imu, topic, self._on_message, qos)

    def _on_message(self, msg) -> None:
        if self.recording:
            self.arrivals.append(time.monotonic_ns())
            self.stamps.append(msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec)
        else:
            self.arrivals[:1] = [time.monotonic_ns()]

    def reset(self) -> None:
        self.arrivals = []
        self.stamps = []


def _measure(sub: _Subscriber, proc, *, rate: float, seconds: float, warmup: float,
             wait: float = 30.0) -> dict:
    import psutil

    start = time.monotonic()
    while not sub.arrivals:
        if time.monotonic() - start > wait:
            raise RuntimeError('no message arrived: is the publisher running? (see its output)')
        time.sleep(0.05)
    time.sleep(warmup)
    ps = psutil.Process(proc.pid)
    cpu0 = ps.cpu_times()
    t0 = time.monotonic()
    sub.reset()
    sub.recording = True
    time.sleep(seconds)
    sub.recording = False
    cpu1 = ps.cpu_times()
    wall = time.monotonic() - t0
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    arrivals, stamps = sub.arrivals, sub.stamps
    period_ns = 1e9 / rate
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    missing = sum(max(0, round(g / period_ns) - 1) for g in gaps)
    intervals_ms = [(b - a) / 1e6 for a, b in zip(arrivals, arrivals[1:])]
    expected = len(stamps) + missing
    return {
        'received': len(stamps),
        'rate_hz': len(stamps) / wall,
        'missing': missing,
        'missing_pct': 100.0 * missing / expected if expected else float('nan'),
        'stamp_regressions': sum(1 for g in gaps if g <= 0),
        'interval_p50_ms': _percentile(intervals_ms, 50),
        'interval_p99_ms': _percentile(intervals_ms, 99),
        'cpu_pct_of_one_core': 100.0 * cpu / wall,
    }


def _reference_publisher(rate: float, priority: int) -> None:
    """A bare node: same pacing, same two messages, same scheduling, no device IO."""
    import rclpy
    from sensor_msgs.msg import Imu

    from jetson_edge_common import qos

    from jetson_edge_imu.scheduling import set_current_thread_fifo

    rclpy.init()
    node = rclpy.create_node('imu_bench_reference')
    ok, message = set_current_thread_fifo(priority)
    if not ok:
        print(f'reference publisher: {message}', file=sys.stderr)
    pubs = [node.create_publisher(Imu, topic, qos.SENSOR_STREAM) for topic in _MESSAGES]
    msg = Imu()
    msg.header.frame_id = 'imu_link'
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    period = int(1e9 / rate)
    deadline = time.monotonic_ns()
    clock = node.get_clock()
    while not stop.is_set():
        sec, nsec = divmod(clock.now().nanoseconds, 1_000_000_000)
        msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nsec
        for p in pubs:
            p.publish(msg)
        deadline += period
        delay = deadline - time.monotonic_ns()
        if delay > 0:
            time.sleep(delay * 1e-9)
        elif -delay > period:
            deadline = time.monotonic_ns()
    node.destroy_node()
    rclpy.try_shutdown()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog='jetson-edge bench imu', description=__doc__.split('\n')[0])
    parser.add_argument('--rate', type=int, default=1000, help='sample rate (Hz)')
    parser.add_argument('--seconds', type=float, default=10.0, help='measurement window')
    parser.add_argument('--warmup', type=float, default=2.0)
    parser.add_argument('--baud', type=int, default=921600,
                        help='configured baud (a pty ignores it; used for stamp correction)')
    parser.add_argument('--priority', type=int, default=0,
                        help='SCHED_FIFO priority of the driver\'s reader thread and of the '
                        'reference loop (0: normal scheduling)')
    parser.add_argument('--mode', default='ndof', help='BNO055 mode: ndof (device fusion) or '
                        'amg (raw, host Madgwick filter)')
    args = parser.parse_args(argv)

    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from jetson_edge_imu.emulated_device import EmulatorOptions, serve

    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    os.environ['ROS_DOMAIN_ID'] = str(150 + os.getpid() % 60)
    link = f'/tmp/jetson_edge_imu_bench.{os.getpid()}.pty'
    results: dict = {'rate_hz_target': args.rate, 'seconds': args.seconds, 'mode': args.mode,
                     'priority': args.priority,
                     'baud_configured': args.baud, 'transport': 'pty (not baud-limited)'}
    rclpy.init()
    node = rclpy.create_node('imu_bench_subscriber')
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    sub = _Subscriber(node, 'imu/data')
    spinning = threading.Event()
    spinning.set()

    def spin() -> None:
        while spinning.is_set():
            executor.spin_once(timeout_sec=0.1)

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    ctx = multiprocessing.get_context('spawn')
    try:
        ref = subprocess.Popen([sys.executable, '-m', 'jetson_edge_imu.bench',
                                '--reference-publisher', str(args.rate), str(args.priority)])
        try:
            results['reference'] = _measure(sub, ref, rate=args.rate, seconds=args.seconds,
                                            warmup=args.warmup)
        finally:
            _stop(ref)
        time.sleep(0.5)
        sub.reset()

        stop_emulator = ctx.Event()
        emulator = ctx.Process(target=serve, args=(EmulatorOptions(
            link_path=link, rate_hz=args.rate, still_s=1.0), stop_emulator), daemon=True)
        emulator.start()
        if args.priority > 0:
            # The emulator stands in for hardware, which never waits for a CPU: give its
            # serving thread the same priority, or the bench measures the emulator's latency.
            os.sched_setscheduler(emulator.pid, os.SCHED_FIFO, os.sched_param(args.priority))
        filter_name = 'device' if args.mode in ('ndof', 'imu', 'ndof_fmc_off') else 'madgwick'
        driver = subprocess.Popen([
            sys.executable, '-m', 'jetson_edge_imu.node', '--ros-args',
            '-p', f'port:={link}', '-p', f'baud:={args.baud}', '-p', f'rate_hz:={args.rate}',
            '-p', f'bno055_mode:={args.mode}', '-p', f'filter:={filter_name}',
            '-p', 'bias_window_s:=0.5', '-p', 'reconnect_initial_s:=0.05',
            '-p', f'reader_priority:={args.priority}'])
        try:
            results['driver'] = _measure(sub, driver, rate=args.rate, seconds=args.seconds,
                                         warmup=args.warmup)
        finally:
            _stop(driver)
            stop_emulator.set()
            emulator.join(5)
    finally:
        spinning.clear()
        spinner.join(5)
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    d, r = results['driver'], results['reference']
    results['driver_cpu_vs_reference'] = (d['cpu_pct_of_one_core'] / r['cpu_pct_of_one_core']
                                          if r['cpu_pct_of_one_core'] else float('nan'))
    _print_table(results)
    return results


def _print_table(res: dict) -> None:
    rows = [('achieved rate (Hz)', 'rate_hz', '{:.1f}'),
            ('received', 'received', '{:d}'),
            ('missing samples', 'missing', '{:d}'),
            ('missing (%)', 'missing_pct', '{:.3f}'),
            ('stamp regressions', 'stamp_regressions', '{:d}'),
            ('interval p50 (ms)', 'interval_p50_ms', '{:.3f}'),
            ('interval p99 (ms)', 'interval_p99_ms', '{:.3f}'),
            ('CPU (% of one core)', 'cpu_pct_of_one_core', '{:.1f}')]
    print(f"IMU benchmark: {res['rate_hz_target']} Hz for {res['seconds']:g} s, BNO055 "
          f"{res['mode']} over a {res['transport']}, SCHED_FIFO priority {res['priority']}")
    print(f"{'':24}{'driver':>14}{'reference':>14}")
    for label, key, fmt in rows:
        print(f'{label:24}{fmt.format(res["driver"][key]):>14}'
              f'{fmt.format(res["reference"][key]):>14}')
    print(f"driver CPU / reference CPU: {res['driver_cpu_vs_reference']:.2f}x "
          '(reference: bare publisher of the same messages, no device IO)')


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == '--reference-publisher':
        _reference_publisher(float(sys.argv[2]), int(sys.argv[3]))
    else:
        main(sys.argv[1:])
