"""``jetson-edge bench lidar``: our decoder against velodyne-decoder, and the driver's CPU.

Decoder speed: the same packets (the VLP-16 fixture capture when it is there, then a second
capture the virtual sensor makes of its room) go through our decoder and through the PyPI
``velodyne-decoder`` (C++), one packet per call in both, scans consumed as they come out.
Trials alternate between them and the best of each counts, so all see the same machine
load. The claim is the ratio, measured in the same run. A third row, ``numpy floor``, is the
least work any numpy decoder does on the same packets (join them, take the ranges, one sine and
cosine per block azimuth, five field writes per slot into a reused array, one gather of the
points in range; no validation, no per-point azimuth interpolation, no scan cut): how far numpy
can go before compiled code is needed.

Driver CPU: the virtual sensor (another process) sends a real packet stream over UDP (a
VLP-16's 754 packets/s, and the heaviest: HDL-32E dual return, 3,616 packets/s); the driver
loop (socket, decoder, scans) runs here for a few seconds and its process CPU time is
divided by the wall time. With ``--node`` the ROS node runs as a subprocess publishing
PointCloud2 to a subscriber, its utime + stime read from /proc/PID/stat, next to a bare
per-packet receive loop (the reference) and the node reading every packet as it comes.
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

import numpy as np
from jetson_edge_lidar.config import DecoderConfig
from jetson_edge_lidar.decoder import VelodyneDecoder
from jetson_edge_lidar.driver import LidarDriver
from jetson_edge_lidar.input_stats import InputStats
from jetson_edge_lidar.models import (BLOCKS_PER_PACKET, MODELS, SLOTS_PER_BLOCK, ReturnMode,
                                      model_by_name, return_mode_by_name)
from jetson_edge_lidar.packet import as_packet_array
from jetson_edge_lidar.pcap import read_udp_payloads
from jetson_edge_lidar.scan import POINT_DTYPE
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


def _numpy_floor(packets: list[bytes], model_name: str) -> tuple[int, int]:
    model = model_by_name(model_name)
    laser = model.slot_laser
    elevation = np.radians(np.asarray(model.elevation_deg))[laser]
    horizontal = (model.distance_resolution_m * np.cos(elevation)).astype(np.float32)
    vertical = (model.distance_resolution_m * np.sin(elevation)).astype(np.float32)
    seconds = (model.point_time_us(ReturnMode.STRONGEST) * 1e-6).astype(np.float32)
    to_rad = np.float32(np.pi / 18000.0)
    chunk = 96
    cloud = np.empty((chunk, BLOCKS_PER_PACKET, SLOTS_PER_BLOCK), POINT_DTYPE)
    cloud['ring'] = model.ring_of_laser[laser]
    records = np.dtype((np.void, POINT_DTYPE.itemsize))
    points = 0
    for start in range(0, len(packets), chunk):
        blocks = as_packet_array(packets[start:start + chunk])['blocks']
        distance = blocks['returns']['distance']
        grid = cloud[:len(distance)]
        azimuth = (blocks['azimuth'].astype(np.float32) * to_rad)[..., None]
        flat = distance * horizontal
        np.multiply(flat, np.sin(azimuth), out=grid['x'])
        np.multiply(flat, np.cos(azimuth), out=grid['y'])
        np.multiply(distance, vertical, out=grid['z'])
        grid['intensity'] = blocks['returns']['reflectivity']
        grid['time'] = seconds
        index = np.flatnonzero(distance)
        kept = np.empty(len(index), POINT_DTYPE)
        np.take(grid.reshape(-1).view(records), index, out=kept.view(records), mode='clip')
        points += len(kept)
    return 0, points


def decoder_speed(packets: list[bytes], *, model_name: str, trials: int) -> dict:
    config = DecoderConfig(cut_angle=0.0)
    runners: dict[str, Callable[[], tuple[int, int]]] = {
        'ours': lambda: _ours(packets, config),
        'numpy floor': lambda: _numpy_floor(packets, model_name)}
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
        for name in ('ours', 'numpy floor'):
            results[name]['vs_velodyne_decoder'] = (
                results[name]['packets_per_s'] / results['velodyne_decoder']['packets_per_s'])
        results['ratio_packets_per_s'] = results['ours']['vs_velodyne_decoder']
    return results


#: The real packet streams the CPU rows use: the suite's sensor, and the heaviest model
#: and mode (HDL-32E dual return, 3,616 packets/s).
STREAMS = (('VLP-16', 'strongest'), ('HDL-32E', 'dual'))


def _start_virtual_sensor(port: int, seconds: float, model: str = 'VLP-16',
                          return_mode: str = 'strongest') -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, '-m', 'jetson_edge_sim.lidar.virtual_sensor', '--port', str(port),
         '--model', model, '--return-mode', return_mode, '--duration', str(seconds + 5)],
        env={**os.environ, 'PYTHONPATH': os.pathsep.join(sys.path)})


def _packet_rate(model: str, return_mode: str) -> float:
    return model_by_name(model).packet_rate_hz(return_mode_by_name(return_mode))


def driver_cpu(*, seconds: float, model: str = 'VLP-16', return_mode: str = 'strongest'
               ) -> dict:
    """CPU share of the driver loop (no ROS) receiving a sensor's real rate over UDP, and each
    complete scan's latency: from its last point's firing (host clock) to leaving the loop."""
    source = UdpSource(port=0, address='127.0.0.1')
    driver = LidarDriver(source, VelodyneDecoder(DecoderConfig(), stats=source.stats))
    sensor = _start_virtual_sensor(source.address[1], seconds, model, return_mode)
    try:
        deadline = time.monotonic() + 10.0
        while source.stats.received == 0 and time.monotonic() < deadline:
            driver.poll(0.1)  # the sensor process is starting up
        cpu0, wall0 = time.process_time(), time.monotonic()
        received0, scans, latency = source.stats.received, 0, []
        while time.monotonic() - wall0 < seconds:
            done = driver.poll(0.1)
            now = time.time()
            scans += len(done)
            latency += [now - s.host_stamp - float(s.points['time'].max())
                        for s in done if s.complete]
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        received = source.stats.received - received0
    finally:
        sensor.terminate()
        sensor.wait(timeout=10)
        driver.close()
    return {'cpu_share_of_one_core': cpu / wall, 'packets_per_s': received / wall,
            'scans_per_s': scans / wall,
            'latency_ms_p50': 1e3 * float(np.percentile(latency, 50)) if latency else None,
            'latency_ms_max': 1e3 * max(latency) if latency else None,
            'expected_packets_per_s': _packet_rate(model, return_mode)}


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

#: The floor of any driver that wakes per packet: select, then read until the socket is dry.
_RECEIVE_LOOP = """
import select, socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
sock.bind(('127.0.0.1', int(sys.argv[1])))
sock.setblocking(False)
try:
    while True:
        select.select([sock], [], [], 0.1)
        while True:
            try:
                sock.recv(4096)
            except BlockingIOError:
                break
except KeyboardInterrupt:
    pass
"""


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc/PID/stat (all its threads)."""
    with open(f'/proc/{pid}/stat') as stat:
        # Fields after the parenthesized name; utime and stime are fields 14 and 15.
        fields = stat.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def process_cpu(kind: str, *, seconds: float, model: str, return_mode: str,
                batch_window_s: float | None = None) -> dict:
    """CPU share of one receiving process, fed a sensor's real packet stream over UDP by the
    virtual sensor: ``kind`` "node" is velodyne_node publishing to a subscriber in another
    process (so the clouds really cross DDS), "receive" the bare per-packet receive loop."""
    port = 23680 + os.getpid() % 1000
    env = {**os.environ, 'ROS_DOMAIN_ID': os.environ.get('ROS_DOMAIN_ID',
                                                         str(150 + os.getpid() % 80))}
    log = tempfile.TemporaryFile()
    children = []
    if kind == 'node':
        executable = shutil.which('velodyne_node')
        command = ([executable] if executable else
                   [sys.executable, '-m', 'jetson_edge_lidar.node'])
        command += ['--ros-args', '-p', f'port:={port}', '-p', 'address:=127.0.0.1']
        if batch_window_s is not None:
            command += ['-p', f'batch_window_s:={batch_window_s}']
        children.append(subprocess.Popen([sys.executable, '-c', _SUBSCRIBER], env=env,
                                         stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL))
    else:
        command = [sys.executable, '-c', _RECEIVE_LOOP, str(port)]
    measured = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    children += [measured, _start_virtual_sensor(port, seconds + 5, model, return_mode)]
    try:
        time.sleep(5.0)  # start-up: imports, DDS discovery, first scans
        if measured.poll() is not None:
            log.seek(0)
            raise RuntimeError(f'{command[0]} exited with {measured.returncode} during '
                               'start-up:\n' + log.read().decode(errors='replace')[-2000:])
        cpu0, wall0 = _cpu_seconds(measured.pid), time.monotonic()
        time.sleep(seconds)
        cpu, wall = _cpu_seconds(measured.pid) - cpu0, time.monotonic() - wall0
    finally:
        for child in reversed(children):
            child.send_signal(signal.SIGINT)
        for child in reversed(children):
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return {'cpu_share_of_one_core': cpu / wall}


def node_cpu_rows(*, seconds: float) -> list[dict]:
    """Per stream: the bare receive loop (reference), the node reading every packet as it
    comes (batch_window_s 0) and the node with its default batch window, same run."""
    rows = []
    for model, mode in STREAMS:
        for name, kind, window in (('receive loop, per packet (reference)', 'receive', None),
                                   ('velodyne_node, batch_window_s 0', 'node', 0.0),
                                   ('velodyne_node, default', 'node', None)):
            r = process_cpu(kind, seconds=seconds, model=model, return_mode=mode,
                            batch_window_s=window)
            rows.append({'stream': f'{model} {mode}', 'process': name,
                         'packets_per_s': _packet_rate(model, mode), **r})
        reference = rows[-3]['cpu_share_of_one_core']
        for row in rows[-3:]:
            row['vs_reference'] = row['cpu_share_of_one_core'] / reference
    return rows


def _latency(row: dict) -> str:
    if row['latency_ms_p50'] is None:
        return '-'
    return f'{row["latency_ms_p50"]:.1f} / {row["latency_ms_max"]:.1f}'


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return '\n'.join('  '.join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog='jetson-edge bench lidar', description=__doc__)
    parser.add_argument('--packets', type=int, default=7540,
                        help='packets per trial (default: 10 s of a VLP-16)')
    parser.add_argument('--trials', type=int, default=15,
                        help='alternating trials, the best of each decoder counts')
    parser.add_argument('--pcap', type=Path, default=None,
                        help='VLP-16 capture to decode first (default: the fixture if found)')
    parser.add_argument('--synthetic', action='store_true',
                        help='decode only the virtual sensor\'s packets')
    parser.add_argument('--model', default='VLP-16', choices=[m.name for m in MODELS])
    parser.add_argument('--return-mode', default='strongest',
                        choices=['strongest', 'last', 'dual'])
    parser.add_argument('--cpu-seconds', type=float, default=5.0,
                        help='length of the CPU measurements (0 skips them)')
    parser.add_argument('--node', action='store_true',
                        help='also measure the ROS node process (needs rclpy)')
    args = parser.parse_args(argv)

    pcap = args.pcap or find_fixture()
    inputs = [] if args.synthetic or pcap is None else [(pcap, 'VLP-16')]
    inputs.append((None, args.model))  # the second capture: the virtual sensor's room
    results: dict = {'decoder': []}
    for capture, model_name in inputs:
        packets, origin = load_packets(count=args.packets, pcap=capture, model=args.model,
                                       return_mode=args.return_mode)
        speed = decoder_speed(packets, model_name=model_name, trials=args.trials)
        results['decoder'].append({'input': origin, 'packets': len(packets), **speed})
        rows = [('decoder', 'packets/s', 'points/s', 'points/scan', 'vs velodyne-decoder')]
        for name in ('ours', 'numpy floor', 'velodyne_decoder'):
            if name in speed:
                r = speed[name]
                per_scan = f'{r["points"] / r["scans"]:,.0f}' if r['scans'] else '-'
                ratio = r.get('vs_velodyne_decoder')
                rows.append((name, f'{r["packets_per_s"]:,.0f}', f'{r["points_per_s"]:,.0f}',
                             per_scan, '-' if ratio is None else f'{ratio:.2f}x'))
        print(f'LiDAR decoder, {len(packets)} packets from {origin}, best of {args.trials}')
        print(_table(rows))
        if 'ratio_packets_per_s' in speed:
            print(f'ours / velodyne-decoder: {speed["ratio_packets_per_s"]:.2f}x')
        else:
            print('velodyne-decoder is not installed: pip install velodyne-decoder for the '
                  'comparison')

    if args.cpu_seconds > 0:
        results['driver_core'] = [
            {'stream': f'{model} {mode}', **driver_cpu(seconds=args.cpu_seconds, model=model,
                                                       return_mode=mode)}
            for model, mode in STREAMS]
        rows = [('driver loop without ROS, real rate', 'packets/s', 'scans/s', '% of a core',
                 'scan latency p50 / max (ms)')]
        rows += [(r['stream'], f'{r["packets_per_s"]:,.0f}', f'{r["scans_per_s"]:.1f}',
                  f'{100 * r["cpu_share_of_one_core"]:.1f}', _latency(r))
                 for r in results['driver_core']]
        print(_table(rows))
        if args.node:
            results['node'] = node_cpu_rows(seconds=args.cpu_seconds)
            rows = [('stream at real rate', 'process (/proc/PID/stat)', '% of a core',
                     'vs reference')]
            rows += [(r['stream'], r['process'], f'{100 * r["cpu_share_of_one_core"]:.1f}',
                      f'{r["vs_reference"]:.2f}x') for r in results['node']]
            print(_table(rows))
    return results


if __name__ == '__main__':
    main()
