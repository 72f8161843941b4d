"""``jetson-edge bench lidar``: our decoder against velodyne-decoder, and the driver's CPU.

Decoder speed: the same packets (the VLP-16 fixture capture when it is there, else packets
from the virtual sensor) go through our decoder and through the PyPI ``velodyne-decoder``
(C++), one packet per call in both, scans consumed as they come out. Trials alternate
between the two and the best of each counts, so both see the same machine load. The claim
is the ratio, measured in the same run.

Driver CPU: the virtual sensor (another process) sends a VLP-16's real packet stream over
UDP; the driver loop (socket, decoder, scans) runs here for a few seconds and its process
CPU time is divided by the wall time. With ``--node`` the ROS node runs instead, as a
subprocess publishing PointCloud2, and its CPU share is read with psutil.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from jetson_edge_lidar.config import DecoderConfig
from jetson_edge_lidar.decoder import VelodyneDecoder
from jetson_edge_lidar.driver import LidarDriver
from jetson_edge_lidar.input_stats import InputStats
from jetson_edge_lidar.models import MODELS, VLP16, ReturnMode, model_by_name, return_mode_by_name
from jetson_edge_lidar.pcap import read_udp_payloads
from jetson_edge_lidar.sources import UdpSource
from jetson_edge_sim.lidar.virtual_sensor import SimulatedVelodyne

FIXTURE = Path('shared') / 'fixtures' / 'lidar' / 'vlp16_mrpt_3rev.pcap'


def find_fixture() -> Path | None:
    """The fixture capture, looked for next to the repository (``../shared``) or above."""
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    for start in starts:
        for folder in [start, *start.parents]:
            for candidate in (folder / FIXTURE, folder.parent / FIXTURE):
                if candidate.is_file():
                    return candidate
    return None


def load_packets(*, count: int, pcap: Path | None, model: str, return_mode: str
                 ) -> tuple[list[bytes], str]:
    """``count`` packets: the capture repeated, or the virtual sensor's room."""
    if pcap is not None:
        payloads = [d.payload for d in read_udp_payloads(pcap, stats=InputStats(), port=None)]
        if payloads:
            return (payloads * (count // len(payloads) + 1))[:count], f'pcap {pcap.name}'
    sim = SimulatedVelodyne(model_by_name(model), return_mode_by_name(return_mode),
                            start_time_s=time.time())
    return sim.next_packets(count), f'virtual {model} {return_mode}'


def _ours(packets: list[bytes], config: DecoderConfig) -> tuple[int, int]:
    decoder = VelodyneDecoder(config)
    scans = points = 0
    for packet in packets:
        scan = decoder.decode(packet, recv_time=0.0)
        if scan is not None:
            scans += 1
            points += len(scan)
    for scan in decoder.finish():
        scans += 1
        points += len(scan)
    return scans, points


def _theirs(packets: list[bytes], model_name: str, config: DecoderConfig
            ) -> tuple[int, int]:
    import velodyne_decoder as vd

    models = {'VLP-16': vd.Model.VLP16, 'Puck Hi-Res': vd.Model.PuckHiRes,
              'VLP-32C': vd.Model.VLP32C, 'HDL-32E': vd.Model.HDL32E}
    decoder = vd.StreamDecoder(vd.Config(
        model=models[model_name], min_range=config.min_range,
        max_range=config.range_limit_m(model_by_name(model_name)), cut_angle=config.cut_angle))
    scans = points = 0
    for i, packet in enumerate(packets):
        result = decoder.decode(i * 1e-3, packet, True)
        if result is not None:
            scans += 1
            points += len(result[1])
    result = decoder.finish(True)
    if result is not None:
        scans += 1
        points += len(result[1])
    return scans, points


def decoder_speed(packets: list[bytes], *, model_name: str, trials: int) -> dict:
    config = DecoderConfig(cut_angle=0.0)
    runners: dict[str, Callable[[], tuple[int, int]]] = {
        'ours': lambda: _ours(packets, config)}
    try:
        import velodyne_decoder  # noqa: F401
        runners['velodyne_decoder'] = lambda: _theirs(packets, model_name, config)
    except ImportError:
        pass
    best: dict[str, float] = {}
    counts: dict[str, tuple[int, int]] = {}
    for _ in range(trials):
        for name, run in runners.items():
            start = time.perf_counter()
            counts[name] = run()
            best[name] = min(best.get(name, float('inf')), time.perf_counter() - start)
    results = {}
    for name, seconds in best.items():
        scans, points = counts[name]
        results[name] = {'packets_per_s': len(packets) / seconds,
                         'points_per_s': points / seconds, 'scans': scans, 'points': points,
                         'seconds': seconds}
    if 'velodyne_decoder' in results:
        results['ratio_packets_per_s'] = (results['ours']['packets_per_s']
                                          / results['velodyne_decoder']['packets_per_s'])
    return results


def _start_virtual_sensor(port: int, seconds: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, '-m', 'jetson_edge_sim.lidar.virtual_sensor', '--port', str(port),
         '--model', 'VLP-16', '--duration', str(seconds + 5)],
        env={**os.environ, 'PYTHONPATH': os.pathsep.join(sys.path)})


def driver_cpu(*, seconds: float) -> dict:
    """CPU share of the driver loop (no ROS) receiving a VLP-16's real rate over UDP."""
    source = UdpSource(port=0, address='127.0.0.1')
    driver = LidarDriver(source, VelodyneDecoder(DecoderConfig(), stats=source.stats))
    sensor = _start_virtual_sensor(source.address[1], seconds)
    try:
        deadline = time.monotonic() + 10.0
        while source.stats.received == 0 and time.monotonic() < deadline:
            driver.poll(0.1)  # the sensor process is starting up
        cpu0, wall0 = time.process_time(), time.monotonic()
        received0, scans = source.stats.received, 0
        while time.monotonic() - wall0 < seconds:
            scans += len(driver.poll(0.1))
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        received = source.stats.received - received0
    finally:
        sensor.terminate()
        sensor.wait(timeout=10)
        driver.close()
    return {'cpu_share_of_one_core': cpu / wall, 'packets_per_s': received / wall,
            'scans_per_s': scans / wall,
            'expected_packets_per_s': VLP16.packet_rate_hz(ReturnMode.STRONGEST)}


_SUBSCRIBER = """
import rclpy
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import PointCloud2
rclpy.init()
node = rclpy.create_node('bench_cloud_listener')
node.create_subscription(PointCloud2, 'lidar/points', lambda msg: None, qos_profile_sensor_data)
try:
    rclpy.spin(node)
except BaseException:
    pass
"""


def node_cpu(*, seconds: float) -> dict:
    """CPU share of the ROS node process receiving a VLP-16's real rate and publishing to a
    subscriber in another process (so the clouds really cross DDS)."""
    import psutil

    executable = shutil.which('velodyne_node')
    command = ([executable] if executable else
               [sys.executable, '-m', 'jetson_edge_lidar.node'])
    port = 23680 + os.getpid() % 1000
    env = {**os.environ, 'ROS_DOMAIN_ID': os.environ.get('ROS_DOMAIN_ID',
                                                         str(150 + os.getpid() % 80))}
    log = tempfile.TemporaryFile()
    node = subprocess.Popen(command + ['--ros-args', '-p', f'port:={port}',
                                       '-p', 'address:=127.0.0.1'],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    listener = subprocess.Popen([sys.executable, '-c', _SUBSCRIBER], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sensor = _start_virtual_sensor(port, seconds + 5)
    try:
        proc = psutil.Process(node.pid)
        time.sleep(5.0)  # start-up: imports, DDS discovery, first scans
        if node.poll() is not None:
            log.seek(0)
            raise RuntimeError(f'velodyne_node exited with {node.returncode} during start-up:\n'
                               + log.read().decode(errors='replace')[-2000:])
        before, wall0 = proc.cpu_times(), time.monotonic()
        time.sleep(seconds)
        after, wall = proc.cpu_times(), time.monotonic() - wall0
    finally:
        for child in (sensor, listener, node):
            child.send_signal(signal.SIGINT)
        for child in (sensor, listener, node):
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    cpu = (after.user + after.system) - (before.user + before.system)
    return {'cpu_share_of_one_core': cpu / wall}


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return '\n'.join('  '.join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog='jetson-edge bench lidar', description=__doc__)
    parser.add_argument('--packets', type=int, default=7540,
                        help='packets per trial (default: 10 s of a VLP-16)')
    parser.add_argument('--trials', type=int, default=5, help='alternating trials, best counts')
    parser.add_argument('--pcap', type=Path, default=None,
                        help='capture to decode (default: the fixture if found, else the '
                             'virtual sensor)')
    parser.add_argument('--synthetic', action='store_true',
                        help='use the virtual sensor even when the fixture is there')
    parser.add_argument('--model', default='VLP-16', choices=[m.name for m in MODELS])
    parser.add_argument('--return-mode', default='strongest',
                        choices=['strongest', 'last', 'dual'])
    parser.add_argument('--cpu-seconds', type=float, default=5.0,
                        help='length of the CPU measurements (0 skips them)')
    parser.add_argument('--node', action='store_true',
                        help='also measure the ROS node process (needs rclpy)')
    args = parser.parse_args(argv)

    pcap = None if args.synthetic else (args.pcap or find_fixture())
    packets, origin = load_packets(count=args.packets, pcap=pcap, model=args.model,
                                   return_mode=args.return_mode)
    model_name = 'VLP-16' if pcap is not None else args.model
    results: dict = {'input': origin, 'packets': len(packets),
                     'decoder': decoder_speed(packets, model_name=model_name,
                                              trials=args.trials)}
    rows = [('decoder', 'packets/s', 'points/s', 'points/scan')]
    for name in ('ours', 'velodyne_decoder'):
        if name in results['decoder']:
            r = results['decoder'][name]
            rows.append((name, f'{r["packets_per_s"]:,.0f}', f'{r["points_per_s"]:,.0f}',
                         f'{r["points"] / max(r["scans"], 1):,.0f}'))
    print(f'LiDAR decoder, {len(packets)} packets from {origin}, best of {args.trials}')
    print(_table(rows))
    if 'ratio_packets_per_s' in results['decoder']:
        print(f'ours / velodyne-decoder: {results["decoder"]["ratio_packets_per_s"]:.2f}x')
    else:
        print('velodyne-decoder is not installed: pip install velodyne-decoder for the '
              'comparison')

    if args.cpu_seconds > 0:
        results['driver_core'] = driver_cpu(seconds=args.cpu_seconds)
        r = results['driver_core']
        print(f'driver loop without ROS at a VLP-16\'s real rate: '
              f'{100 * r["cpu_share_of_one_core"]:.1f}% of one core '
              f'({r["packets_per_s"]:.0f} packets/s, {r["scans_per_s"]:.1f} scans/s)')
        if args.node:
            results['node'] = node_cpu(seconds=args.cpu_seconds)
            print(f'velodyne_node publishing PointCloud2 at a VLP-16\'s real rate: '
                  f'{100 * results["node"]["cpu_share_of_one_core"]:.1f}% of one core')
    return results


if __name__ == '__main__':
    main()
