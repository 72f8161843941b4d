"""Sends an attack on a UDP port from its own process (so its sending costs the test's own
threads nothing), then prints how many datagrams went out as JSON.

    python test/udp_attacker.py garbage|flood|spoof PORT --seconds 5

``garbage``: random bytes of random sizes (some a packet's length), about 200/s.
``flood``: the same garbage at 20,000/s, 27 times a VLP-16's packet rate (paced: a sender as
fast as one process goes takes a whole core of a 2-core machine, which starves the simulated
sensor too, where a real flood arrives through the network card).
``spoof``: well-formed VLP-16 packets with random azimuths, about 500/s, as the red team sent
them beside the sensor (see :func:`foreign_packets`).
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import sys
import time

import numpy as np

from jetson_edge_lidar.models import VLP16, ReturnMode
from jetson_edge_lidar.packet import BLOCK_FLAG, PACKET_DTYPE
from jetson_edge_sim.lidar.encoder import packets_to_bytes

GARBAGE_SIZES = (0, 1, 7, 512, 1205, 1206, 1207, 1248, 1500)
FLOOD_PER_S = 20_000


def foreign_packets(rng: np.random.Generator, count: int) -> list[bytes]:
    """Well-formed VLP-16 packets as the red team sent them: valid flags and factory bytes,
    the current top-of-hour timestamp, 131 m ranges, random azimuths (half with every block
    random, half from a random start stepping like a real rotation)."""
    packets = np.zeros(count, dtype=PACKET_DTYPE)
    blocks = packets['blocks']
    blocks['flag'] = BLOCK_FLAG
    start = rng.integers(0, 36000, (count, 1))
    stepping = (start + 40 * np.arange(12)) % 36000
    blocks['azimuth'] = np.where(rng.random((count, 1)) < 0.5, stepping,
                                 rng.integers(0, 36000, (count, 12)))
    blocks['returns']['distance'] = int(131 / VLP16.distance_resolution_m)
    blocks['returns']['reflectivity'] = rng.integers(0, 256, (count, 12, 32))
    packets['timestamp'] = int(time.time() % 3600 * 1e6)
    packets['return_mode'] = int(ReturnMode.STRONGEST)
    packets['product_id'] = VLP16.product_id
    return packets_to_bytes(packets)


def attack(kind: str, port: int, seconds: float) -> tuple[int, int]:
    rng, np_rng = random.Random(7), np.random.default_rng(13)
    target = ('127.0.0.1', port)
    sent = failed = 0
    start = time.monotonic()
    end = start + seconds
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        while time.monotonic() < end:
            if kind == 'spoof':
                batch = foreign_packets(np_rng, 5)
                pause = 0.01
            else:
                batch = [rng.randbytes(rng.choice(GARBAGE_SIZES)) for _ in range(10)]
                pause = 0.05
                if kind == 'flood':  # the next batch when it is due: 20,000/s on average
                    pause = max(0.0, start + (sent + failed + 10) / FLOOD_PER_S - time.monotonic())
            for datagram in batch:
                try:
                    tx.sendto(datagram, target)
                    sent += 1
                except OSError:  # ENOBUFS under a flood: counted, and the next one goes
                    failed += 1
            if pause:
                time.sleep(pause)
    return sent, failed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('kind', choices=('garbage', 'flood', 'spoof'))
    parser.add_argument('port', type=int)
    parser.add_argument('--seconds', type=float, default=5.0)
    args = parser.parse_args()
    sent, failed = attack(args.kind, args.port, args.seconds)
    print(json.dumps({'kind': args.kind, 'sent': sent, 'send_failed': failed}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
