"""Fuzzing the LiDAR input: datagrams into the decoder, files into the pcap reader.

The decoder's contract is that no datagram content makes it raise: bad packets are counted
and dropped. The pcap reader yields datagrams, counts what it skips, and raises only
:class:`SourceError` for a file that is not a readable capture.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import dpkt
import numpy as np
import pytest

from jetson_edge_common.fuzzing import assert_no_crash, replay
from jetson_edge_lidar.decoder import VelodyneDecoder
from jetson_edge_lidar.errors import SourceError
from jetson_edge_lidar.input_stats import InputStats
from jetson_edge_lidar.models import HDL32E, VLP16, VLP32C, ReturnMode
from jetson_edge_lidar.packet import PACKET_SIZE
from jetson_edge_lidar.pcap import DLT_EN10MB, read_udp_payloads, write_udp_pcap
from jetson_edge_sim.lidar.virtual_sensor import SimulatedVelodyne

INSTRUMENT = ['jetson_edge_lidar', 'dpkt']
PACKETS_PER_INPUT = 6


def velodyne_packets(data: bytes) -> None:
    """``data`` is consecutive datagrams of PACKET_SIZE bytes (the last one may be short)."""
    decoder = VelodyneDecoder(clock=lambda: 0.0)
    scans = []
    for i, start in enumerate(range(0, len(data), PACKET_SIZE)):
        scan = decoder.decode(data[start:start + PACKET_SIZE], recv_time=1.7e9 + i * 1e-3)
        if scan is not None:
            scans.append(scan)
    scans += decoder.finish()
    for scan in scans:
        assert len(scan.points) > 0
        for axis in ('x', 'y', 'z', 'time'):
            assert np.isfinite(scan.points[axis]).all(), axis


_SCRATCH = Path(os.environ.get('XDG_RUNTIME_DIR') or tempfile.gettempdir())


def pcap_file(data: bytes) -> None:
    path = _SCRATCH / f'jetson_edge_fuzz_{os.getpid()}.pcap'
    path.write_bytes(data)
    try:
        for datagram in read_udp_payloads(path, stats=InputStats(), port=2368):
            assert isinstance(datagram.payload, bytes) and 0 <= datagram.dst_port < 65536
    except SourceError:
        pass
    finally:
        path.unlink()


def _packets(model, mode=ReturnMode.STRONGEST, count=PACKETS_PER_INPUT) -> list[bytes]:
    return SimulatedVelodyne(model, mode, start_time_s=1.7e9).next_packets(count)


def packet_seeds() -> list[bytes]:
    streams = [_packets(VLP16), _packets(VLP32C), _packets(HDL32E),
               _packets(VLP16, ReturnMode.DUAL), _packets(VLP16, ReturnMode.LAST)]
    return [b''.join(s) for s in streams] + [b''.join(_packets(VLP16)[:2])[:-100]]


def pcap_seeds(tmp_path: Path) -> list[bytes]:
    packets = _packets(VLP16, count=3)
    path = tmp_path / 'seed.pcap'
    write_udp_pcap(path, [(1.7e9 + i * 1e-3, p) for i, p in enumerate(packets)])
    ng = io.BytesIO()
    writer = dpkt.pcapng.Writer(ng, linktype=DLT_EN10MB)
    for i, frame in enumerate(dpkt.pcap.Reader(io.BytesIO(path.read_bytes()))):
        writer.writepkt(frame[1], ts=1.7e9 + i)
    classic = path.read_bytes()
    return [classic, ng.getvalue(), classic[:-300]]


def test_seeds_and_regression_inputs_are_handled(tmp_path):
    replay(velodyne_packets, packet_seeds())
    replay(pcap_file, pcap_seeds(tmp_path))


def test_fuzz_velodyne_packets(tmp_path):
    assert_no_crash(velodyne_packets, seeds=packet_seeds(), work_dir=tmp_path,
                    instrument=INSTRUMENT, max_len=PACKET_SIZE * PACKETS_PER_INPUT)


def test_fuzz_pcap_file(tmp_path):
    assert_no_crash(pcap_file, seeds=pcap_seeds(tmp_path), work_dir=tmp_path,
                    instrument=INSTRUMENT, max_len=8192)
