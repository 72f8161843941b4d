"""``jetson-edge bench imu``: emulator -> pty -> driver node -> subscriber in another process.

Three processes, as on a robot: the emulated BNO055 (its own process, serving the UART
protocol on a pseudo-terminal), the production ``imu_node`` (reading through pyserial, decoding,
checking, stamping, publishing ``imu/data`` and ``imu/data_raw``), and this process subscribing
over DDS.

Losses are reported where they happen, not lumped together:

- device samples never read / read twice: the emulator's own account of which of its samples a
  host read reached (the truth; a polled device without a FIFO loses a sample whenever two of
  its updates fall between two reads). Unread samples alone or in pairs come from reads up to
  two periods late: the driver's own timing and the tty path. Runs of 3 or more are stretches
  of milliseconds without a read; a sleeper at SCHED_FIFO 99 in its own process
  (``jetson_edge_common.stall_monitor``) counts the host stalls of the same window beside them;
- lost in DDS: what the driver published (its ``/diagnostics`` counter) but the subscriber did
  not receive; for the reference, gaps in a sequence number it puts in the message;
- stamp gaps: header stamps more than 1.5 periods apart (what a consumer sees as a hole).

Also: achieved rate, p50/p99 of the inter-arrival interval at the subscriber, and the CPU share
of the publisher process and of this subscriber process (psutil).

The reference, measured in the same run on the same machine: a bare publisher process that
paces the same way and publishes the same two messages with no device IO at all. The driver's
CPU share is reported against it, since absolute numbers on a shared 2-core VM mean little.

Bytes written to a pty, like bytes a real UART receives, reach the reader through the tty
layer's flip-buffer work, which runs in an unbound kernel worker (``kworker/u*``) at normal
priority; on a loaded machine that worker, not the driver, is late. ``--kworker-priority N``
gives those workers SCHED_FIFO N for the run (restored after), as a real-time robot set-up
would.

A pty is not baud-limited. A real BNO055 UART at 115200 baud carries at most ~300 fusion frames
per second (38 bytes per request/response, 10 bits per byte) and the BNO055's fusion output
itself updates at 100 Hz, so 1 kHz through this path measures the driver, not a device.

``--link spi``: an MPU-9250 (with its AK8963 read through the auxiliary I2C master) on the
driver's production SPI path, its FIFO read at the sample rate, Madgwick with the magnetometer.
No SPI exists between processes here, so the link is the sim package's in-process stand-in
behind spidev's interface: the row measures our per-sample cost (framing, register logic,
decoding, filter, publishing), and the emulated chip's cost with it, not a bus. Two processes:
the driver node and this subscriber; no device-side read counters.
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

from jetson_edge_common.stall_monitor import StallMonitor
from jetson_edge_common.testing import interrupt

_MESSAGES = ('imu/data', 'imu/data_raw')
# SampleReadCounters.RUN_CLASSES: unread samples alone, in pairs, in runs of 3-9, of 10 or more
_RUN_NAMES = ('run_1', 'run_2', 'run_3_9', 'run_10_up')
_DRIVER_STATUS = 'imu_node: imu'


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float('nan')
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[k]


class _Subscriber:
    """Records arrival times, header stamps and (reference only) sequence numbers of
    ``imu/data``, and the driver's ``published`` counter from ``/diagnostics``."""

    def __init__(self, node, topic: str) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Imu

        from jetson_edge_common import qos as suite_qos

        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=200,
                         reliability=ReliabilityPolicy.BEST_EFFORT)
        self.arrivals: list[int] = []
        self.stamps: list[int] = []
        self.sequence: list[float] = []
        self.published: list[tuple[int, int]] = []  # (diagnostics stamp, driver's count)
        self.recording = False
        node.create_subscription(Imu, topic, self._on_message, qos)
        node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                 suite_qos.DIAGNOSTICS)

    def _on_message(self, msg) -> None:
        if self.recording:
            self.arrivals.append(time.monotonic_ns())
            self.stamps.append(msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec)
            self.sequence.append(msg.linear_acceleration.x)
        else:
            self.arrivals[:1] = [time.monotonic_ns()]

    def _on_diagnostics(self, msg) -> None:
        if not self.recording:
            return
        for status in msg.status:
            if status.name == _DRIVER_STATUS:
                values = {kv.key: kv.value for kv in status.values}
                if 'published' in values:
                    stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
                    self.published.append((stamp, int(values['published'])))

    def reset(self) -> None:
        self.arrivals = []
        self.stamps = []
        self.sequence = []
        self.published = []


def _lost_in_dds(sub: _Subscriber, *, reference: bool, period_ns: float) -> tuple[int, int]:
    """(sent, lost) over the part of the window both sides can account for.

    Reference: sequence numbers, exact. Driver: its ``published`` counter at the first and last
    ``/diagnostics`` of the window against the messages received with stamps between those two
    instants; a sample's stamp precedes its count by about a period (request time minus half a
    period), which the bounds allow for, so the figure is exact to a sample at each end."""
    if reference:
        seq = sorted(set(int(v) for v in sub.sequence))
        if not seq:
            return 0, 0
        sent = seq[-1] - seq[0] + 1
        return sent, sent - len(seq)
    if len(sub.published) < 2:
        return 0, 0
    (t1, n1), (t2, n2) = sub.published[0], sub.published[-1]
    lo, hi = t1 - period_ns, t2 - period_ns
    received = sum(1 for s in sub.stamps if lo < s <= hi)
    sent = n2 - n1
    return sent, max(0, sent - received)


def _measure(sub: _Subscriber, proc, *, rate: float, seconds: float, warmup: float,
             reference: bool, stalls: StallMonitor, device_counters=None,
             wait: float = 30.0) -> dict:
    import psutil

    start = time.monotonic()
    while not sub.arrivals:
        if time.monotonic() - start > wait:
            raise RuntimeError('no message arrived: is the publisher running? (see its output)')
        time.sleep(0.05)
    time.sleep(warmup)
    ps, me = psutil.Process(proc.pid), psutil.Process()
    cpu0, own0 = ps.cpu_times(), me.cpu_times()
    dev0 = list(device_counters) if device_counters is not None else None
    t0 = time.monotonic()
    stall_mark = stalls.mark()
    sub.reset()
    sub.recording = True
    time.sleep(seconds)
    sub.recording = False
    host = stalls.since(stall_mark)
    dev1 = list(device_counters) if device_counters is not None else None
    cpu1, own1 = ps.cpu_times(), me.cpu_times()
    wall = time.monotonic() - t0
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    own = (own1.user - own0.user) + (own1.system - own0.system)
    arrivals, stamps = sub.arrivals, sub.stamps
    period_ns = 1e9 / rate
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    holes = sum(max(0, round(g / period_ns) - 1) for g in gaps if g >= 1.5 * period_ns)
    intervals_ms = [(b - a) / 1e6 for a, b in zip(arrivals, arrivals[1:])]
    sent, lost = _lost_in_dds(sub, reference=reference, period_ns=period_ns)
    out = {
        'received': len(stamps),
        'rate_hz': len(stamps) / wall,
        'stamp_gap_samples': holes,
        'stamp_gap_pct': 100.0 * holes / (len(stamps) + holes) if stamps else float('nan'),
        'stamp_regressions': sum(1 for g in gaps if g <= 0),
        'dds_sent': sent,
        'dds_lost': lost,
        'dds_lost_pct': 100.0 * lost / sent if sent else float('nan'),
        'interval_p50_ms': _percentile(intervals_ms, 50),
        'interval_p99_ms': _percentile(intervals_ms, 99),
        'cpu_pct_of_one_core': 100.0 * cpu / wall,
        'subscriber_cpu_pct': 100.0 * own / wall,
        'host_stalls': host.count,
        'host_stall_ms': host.total_s * 1e3,
        'host_stall_longest_ms': host.longest_s * 1e3,
    }
    if dev0 is not None and dev1 is not None:
        reads, again, never = (dev1[i] - dev0[i] for i in range(3))
        due = dev1[3] - dev0[3]
        by_run = [b - a for a, b in zip(dev0[4:], dev1[4:])]
        out.update({'device_samples': due, 'device_reads': reads,
                    'device_read_again': again, 'device_never_read': never,
                    'device_never_read_pct': 100.0 * never / due if due else float('nan'),
                    **{f'device_never_read_{name}': n for name, n in zip(_RUN_NAMES, by_run)}})
        short = by_run[0] + by_run[1]
        out['device_never_read_short_pct'] = 100.0 * short / due if due else float('nan')
    return out


def _reference_publisher(rate: float, priority: int) -> None:
    """A bare node: same pacing, same two messages, same scheduling, no device IO."""
    import rclpy
    from sensor_msgs.msg import Imu

    from jetson_edge_common import qos
    from jetson_edge_common.realtime import set_realtime_priority

    rclpy.init()
    node = rclpy.create_node('imu_bench_reference')
    ok, message = set_realtime_priority(priority)
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
    seq = 0
    while not stop.is_set():
        sec, nsec = divmod(clock.now().nanoseconds, 1_000_000_000)
        msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nsec
        seq += 1
        msg.linear_acceleration.x = float(seq)  # lets the subscriber count DDS losses exactly
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


def _boost_kworkers(priority: int) -> list[tuple[int, int, int]]:
    """SCHED_FIFO ``priority`` for the unbound kernel workers (``kworker/u*``), where the tty
    layer delivers received bytes; returns what to restore: (pid, policy, priority)."""
    changed = []
    for entry in os.scandir('/proc'):
        if not entry.name.isdigit():
            continue
        try:
            with open(f'/proc/{entry.name}/comm') as comm:
                if not comm.read().startswith('kworker/u'):
                    continue
            pid = int(entry.name)
            before = (os.sched_getscheduler(pid), os.sched_getparam(pid).sched_priority)
            os.sched_setscheduler(pid, os.SCHED_FIFO, os.sched_param(priority))
        except OSError:
            continue  # gone meanwhile, or no permission: left as it is
        changed.append((pid, *before))
    print(f'kernel workers: {len(changed)} kworker/u* threads at SCHED_FIFO {priority} for the run')
    return changed


def _restore_scheduling(changed: list[tuple[int, int, int]]) -> None:
    for pid, policy, priority in changed:
        try:
            os.sched_setscheduler(pid, policy, os.sched_param(priority))
        except OSError:
            pass  # the worker exited


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog='jetson-edge bench imu', description=__doc__.split('\n')[0])
    parser.add_argument('--rate', type=int, default=1000, help='sample rate (Hz)')
    parser.add_argument('--seconds', type=float, default=10.0, help='measurement window')
    parser.add_argument('--warmup', type=float, default=2.0)
    parser.add_argument('--baud', type=int, default=921600,
                        help='configured baud (a pty ignores it; used for stamp correction)')
    parser.add_argument('--priority', type=int, default=70,
                        help='SCHED_FIFO priority of the driver\'s reader thread and of the '
                        'reference loop (default 70, the Jetson profiles\' reader_priority; 0: normal '
                        'scheduling)')
    parser.add_argument('--kworker-priority', type=int, default=0,
                        help='for the run, SCHED_FIFO priority of the unbound kernel workers that '
                        'carry tty input (0: leave them alone; see the module docstring)')
    parser.add_argument('--mode', default='ndof', help='BNO055 mode: ndof (device fusion) or '
                        'amg (raw, host Madgwick filter)')
    parser.add_argument('--link', choices=('pty', 'spi'), default='pty',
                        help='pty: emulated BNO055 on a pseudo-terminal (its own process); spi: '
                        'MPU-9250 on the emulated SPI link inside the driver\'s process (see the '
                        'module docstring)')
    args = parser.parse_args(argv)

    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from jetson_edge_common.dds import use_large_data_transport

    # The driver's node_main picks the suite's DDS transport; the reference and this
    # subscriber (and their children, through the environment) must use the same one.
    use_large_data_transport()
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    os.environ['ROS_DOMAIN_ID'] = str(150 + os.getpid() % 60)
    link = f'/tmp/jetson_edge_imu_bench.{os.getpid()}.pty'
    results: dict = {'rate_hz_target': args.rate, 'seconds': args.seconds, 'mode': args.mode,
                     'priority': args.priority, 'kworker_priority': args.kworker_priority,
                     'baud_configured': args.baud, 'link': args.link,
                     'transport': ('pty (not baud-limited)' if args.link == 'pty' else
                                   'in-process SPI stand-in (not a bus)')}
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
    stalls = StallMonitor()
    stalls.__enter__()  # left in the finally below, with the rest
    results['stall_monitor_priority'] = stalls.priority
    kworkers = _boost_kworkers(args.kworker_priority) if args.kworker_priority > 0 else []
    try:
        ref = subprocess.Popen([sys.executable, '-m', 'jetson_edge_bench.imu',
                                '--reference-publisher', str(args.rate), str(args.priority)])
        try:
            results['reference'] = _measure(sub, ref, rate=args.rate, seconds=args.seconds,
                                            warmup=args.warmup, reference=True, stalls=stalls)
        finally:
            interrupt(ref, 10)
        time.sleep(0.5)
        sub.reset()

        if args.link == 'spi':
            results['driver'] = _measure_spi_driver(sub, args, stalls)
        else:
            results['driver'] = _measure_pty_driver(sub, args, stalls, ctx, link)
    finally:
        _restore_scheduling(kworkers)
        stalls.__exit__()
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


def _measure_spi_driver(sub: _Subscriber, args, stalls: StallMonitor) -> dict:
    driver = subprocess.Popen([
        sys.executable, '-m', 'jetson_edge_imu.node', '--ros-args',
        '-p', 'device_type:=mpu9250', '-p', 'interface:=spi', '-p', 'spi_backend:=sim',
        '-p', 'magnetometer:=master', '-p', f'rate_hz:={args.rate}', '-p', 'dlpf:=3',
        '-p', 'use_fifo:=true', '-p', f'fifo_poll_hz:={float(args.rate)}',
        '-p', 'filter:=madgwick', '-p', 'bias_window_s:=0.5', '-p', 'reconnect_initial_s:=0.05',
        '-p', f'reader_priority:={args.priority}'])
    try:
        return _measure(sub, driver, rate=args.rate, seconds=args.seconds, warmup=args.warmup,
                        reference=False, stalls=stalls)
    finally:
        interrupt(driver, 10)


def _measure_pty_driver(sub: _Subscriber, args, stalls: StallMonitor, ctx, link: str) -> dict:
    from jetson_edge_sim.imu.emulated_device import READ_COUNTERS_SIZE, EmulatorOptions, serve

    stop_emulator = ctx.Event()
    device_counters = ctx.Array('q', READ_COUNTERS_SIZE, lock=False)
    emulator = ctx.Process(target=serve, args=(EmulatorOptions(
        link_path=link, rate_hz=args.rate, still_s=1.0), stop_emulator),
        kwargs={'read_counters': device_counters}, daemon=True)
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
        return _measure(sub, driver, rate=args.rate, seconds=args.seconds, warmup=args.warmup,
                        reference=False, stalls=stalls, device_counters=device_counters)
    finally:
        interrupt(driver, 10)
        stop_emulator.set()
        emulator.join(5)


def _print_table(res: dict) -> None:
    rows = [('achieved rate (Hz)', 'rate_hz', '{:.1f}'),
            ('received', 'received', '{:d}'),
            ('device samples due', 'device_samples', '{:d}'),
            ('  never read', 'device_never_read', '{:d}'),
            ('  never read (%)', 'device_never_read_pct', '{:.3f}'),
            ('    alone', 'device_never_read_run_1', '{:d}'),
            ('    in pairs', 'device_never_read_run_2', '{:d}'),
            ('    in runs of 3-9', 'device_never_read_run_3_9', '{:d}'),
            ('    in runs of 10+', 'device_never_read_run_10_up', '{:d}'),
            ('  alone or in pairs (%)', 'device_never_read_short_pct', '{:.3f}'),
            ('  read twice', 'device_read_again', '{:d}'),
            ('published (counted)', 'dds_sent', '{:d}'),
            ('  lost in DDS', 'dds_lost', '{:d}'),
            ('  lost in DDS (%)', 'dds_lost_pct', '{:.3f}'),
            ('stamp gaps (samples)', 'stamp_gap_samples', '{:d}'),
            ('stamp gaps (%)', 'stamp_gap_pct', '{:.3f}'),
            ('stamp regressions', 'stamp_regressions', '{:d}'),
            ('interval p50 (ms)', 'interval_p50_ms', '{:.3f}'),
            ('interval p99 (ms)', 'interval_p99_ms', '{:.3f}'),
            ('publisher CPU (% core)', 'cpu_pct_of_one_core', '{:.1f}'),
            ('subscriber CPU (% core)', 'subscriber_cpu_pct', '{:.1f}'),
            ('host stalls >= 2 ms', 'host_stalls', '{:d}'),
            ('  their total (ms)', 'host_stall_ms', '{:.1f}'),
            ('  the longest (ms)', 'host_stall_longest_ms', '{:.1f}')]
    device = (f"BNO055 {res['mode']}" if res['link'] == 'pty'
              else 'MPU-9250 + AK8963 (FIFO, Madgwick with magnetometer)')
    print(f"IMU benchmark: {res['rate_hz_target']} Hz for {res['seconds']:g} s, {device} over "
          f"a {res['transport']}, SCHED_FIFO priority {res['priority']}, "
          f"tty kernel workers {res['kworker_priority'] or 'untouched'}")
    print(f"{'':26}{'driver':>12}{'reference':>12}")

    def cell(row: dict, key: str, fmt: str) -> str:
        return fmt.format(row[key]) if key in row else '-'

    for label, key, fmt in rows:
        print(f'{label:26}{cell(res["driver"], key, fmt):>12}'
              f'{cell(res["reference"], key, fmt):>12}')
    print(f"driver CPU / reference CPU: {res['driver_cpu_vs_reference']:.2f}x "
          '(reference: bare publisher of the same messages, no device IO)')
    if res['link'] == 'spi':
        print('the SPI link is an in-process stand-in, not a bus: the driver\'s CPU is our '
              'per-sample cost (framing, registers, decode, filter, publish) plus the emulated '
              'chip\'s, and says nothing of SPI timing')
    print('never read alone or in pairs: the driver\'s own timing (a read up to two periods '
          'late); in runs of 3+: no read for 3 ms or more, compare the host stalls, seen by a '
          f'sleeper at SCHED_FIFO {res["stall_monitor_priority"]} in its own process')


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == '--reference-publisher':
        _reference_publisher(float(sys.argv[2]), int(sys.argv[3]))
    else:
        main(sys.argv[1:])
