"""Counters for everything the driver receives, drops or notices, with rate-limited logging.

One :class:`InputStats` is shared by a packet source and the decoder. Every dropped datagram
or pcap frame is counted under a reason and reported through a rate-limited log function,
so bad input is never lost silently and never floods the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

# Drop reasons (datagrams or frames skipped).
WRONG_LENGTH = 'wrong_length'
BAD_BLOCK_FLAG = 'bad_block_flag'
BAD_AZIMUTH = 'bad_azimuth'
UNKNOWN_PRODUCT = 'unknown_product'
UNKNOWN_RETURN_MODE = 'unknown_return_mode'
MODEL_MISMATCH = 'model_mismatch'
RETURN_MODE_MISMATCH = 'return_mode_mismatch'
OUT_OF_SEQUENCE = 'out_of_sequence'
WRONG_SENDER = 'wrong_sender'
NOT_UDP = 'not_udp'
WRONG_PORT = 'wrong_port'
UNSUPPORTED_LINK_TYPE = 'unsupported_link_type'
TRUNCATED_FILE = 'truncated_file'

DROP_REASONS = (WRONG_LENGTH, BAD_BLOCK_FLAG, BAD_AZIMUTH, UNKNOWN_PRODUCT,
                UNKNOWN_RETURN_MODE, MODEL_MISMATCH, RETURN_MODE_MISMATCH, OUT_OF_SEQUENCE,
                WRONG_SENDER,
                NOT_UDP, WRONG_PORT, UNSUPPORTED_LINK_TYPE, TRUNCATED_FILE)


@dataclass(frozen=True)
class StatsSnapshot:
    """A consistent copy of the counters at one moment.

    ``taken_at`` and ``last_packet_at`` are host monotonic time; ``device_time_s`` is the
    sensor's own clock at the last decoded packet, unwrapped at the top of the hour.
    """

    taken_at: float
    received: int
    packets: int
    scans: int
    points: int
    last_packet_at: float | None
    drops: dict[str, int]
    gaps: int
    missing_packets: int
    clock_jumps: int
    partial_scans: int
    device_time_s: float | None = None
    #: Times the azimuth sequence was re-anchored (start-up, sensor restart, long gap).
    resyncs: int = 0

    @property
    def dropped(self) -> int:
        return sum(self.drops.values())


@dataclass
class InputStats:
    """Thread-safe counters; ``log`` receives at most one drop summary per ``log_period_s``."""

    log: Callable[[str], None] = field(default=logging.getLogger('jetson_edge_lidar').warning)
    log_period_s: float = 5.0
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._drops: Counter[str] = Counter()
        self._unlogged: Counter[str] = Counter()
        self._examples: dict[str, str] = {}
        self._last_log_at: float | None = None
        self.received = 0
        self.packets = 0
        self.scans = 0
        self.points = 0
        self.gaps = 0
        self.missing_packets = 0
        self.clock_jumps = 0
        self.partial_scans = 0
        self.resyncs = 0
        self.last_packet_at: float | None = None
        self.device_time_s: float | None = None

    def drop(self, reason: str, detail: str, count: int = 1) -> None:
        """Count ``count`` skipped inputs for ``reason``; ``detail`` shows one example."""
        if count <= 0:
            return
        with self._lock:
            self._drops[reason] += count
            self._unlogged[reason] += count
            self._examples.setdefault(reason, detail)
        self._maybe_log()

    def add_received(self, count: int) -> None:
        """Datagrams handed to the decoder, valid or not (called per packet: no lock,
        the decoder's thread is the only writer and readers take a snapshot)."""
        if count <= 0:
            return  # an empty poll of a silent socket is not a packet
        self.received += count
        self.last_packet_at = self.clock()

    def add_packets(self, count: int, *, device_time_s: float | None = None) -> None:
        """Datagrams that passed validation and were decoded; ``device_time_s``: the
        sensor clock at the last of them (both change together, under one lock)."""
        with self._lock:
            self.packets += count
            if device_time_s is not None:
                self.device_time_s = device_time_s

    def add_scan(self, points: int, *, complete: bool) -> None:
        with self._lock:
            self.scans += 1
            self.points += points
            if not complete:
                self.partial_scans += 1

    def add_gap(self, missing_packets: int) -> None:
        with self._lock:
            self.gaps += 1
            self.missing_packets += missing_packets

    def add_resync(self) -> None:
        with self._lock:
            self.resyncs += 1

    def add_clock_jumps(self, count: int) -> None:
        with self._lock:
            self.clock_jumps += count

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(
                taken_at=self.clock(), received=self.received, packets=self.packets,
                scans=self.scans,
                points=self.points, last_packet_at=self.last_packet_at,
                drops=dict(self._drops), gaps=self.gaps,
                missing_packets=self.missing_packets, clock_jumps=self.clock_jumps,
                partial_scans=self.partial_scans, device_time_s=self.device_time_s,
                resyncs=self.resyncs)

    def flush_log(self) -> None:
        """Log the pending drop summary now, whatever the rate limit (e.g. at shutdown)."""
        self._maybe_log(force=True)

    def _maybe_log(self, *, force: bool = False) -> None:
        now = self.clock()
        with self._lock:
            if not self._unlogged:
                return
            due = (self._last_log_at is None
                   or now - self._last_log_at >= self.log_period_s)
            if not (due or force):
                return
            parts = [f'{reason} x{n} (e.g. {self._examples[reason]})'
                     for reason, n in sorted(self._unlogged.items())]
            self._unlogged.clear()
            self._examples.clear()
            self._last_log_at = now
        self.log('skipped bad LiDAR input: ' + '; '.join(parts))
