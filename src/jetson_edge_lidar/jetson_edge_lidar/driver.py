"""The driver loop's body: read a packet source, decode, hand back finished scans.

The ROS node runs :meth:`LidarDriver.poll` in its receive thread and publishes what it
returns; the benchmark and tests run the same loop without ROS.
"""

from __future__ import annotations

import time
from typing import Callable

from .decoder import VelodyneDecoder
from .models import MODELS, ReturnMode
from .scan import Scan
from .sources import PacketSource

#: A read lands this long after the rotation reaches the cut angle: the packet completing
#: the scan (at most one packet period later, 1.33 ms for the slowest stream) plus a margin
#: for the sleep's own lateness.
READ_AFTER_CUT_S = 0.002
#: Before the model is known, the buffer limit assumes the fastest stream there is.
_FASTEST_PACKET_RATE_HZ = max(m.packet_rate_hz(mode) for m in MODELS for mode in ReturnMode)


class LidarDriver:
    """One source feeding one decoder; call :meth:`poll` from a single thread.

    While packets flow, each read is timed to land just after the packet that completes the
    current scan, so a scan leaves as soon as it is whole and the thread wakes about once
    per rotation, not once per packet. Reads never wait longer than half of what the
    socket buffer holds at the sensor's packet rate (nor than the source's batch window).
    """

    def __init__(self, source: PacketSource, decoder: VelodyneDecoder, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self.decoder = decoder
        self._clock = clock
        self._finished = False

    @property
    def finished(self) -> bool:
        """True once a finite source ran dry and its last partial scan was handed out."""
        return self._finished

    def poll(self, timeout_s: float) -> list[Scan]:
        """Wait up to ``timeout_s`` for packets; return the scans they completed."""
        batch = self.source.receive(timeout_s, read_after_s=self.read_after_s())
        scans = self.decoder.decode_batch(batch.packets, recv_times=batch.recv_times)
        if self.source.exhausted and not self._finished:
            self._finished = True
            scans += self.decoder.finish()
        return scans

    def read_after_s(self) -> float | None:
        """How long packets may queue before the next read (None: the source decides)."""
        wait = None
        capacity = self.source.capacity_packets
        if capacity is not None:
            decoder = self.decoder
            rate = (decoder.model.packet_rate_hz(decoder.return_mode) if decoder.model
                    else _FASTEST_PACKET_RATE_HZ)
            wait = capacity / rate / 2
        cut = self.decoder.next_cut_time()
        if cut is not None:
            until_cut = max(cut + READ_AFTER_CUT_S - self._clock(), 0.0)
            wait = until_cut if wait is None else min(wait, until_cut)
        return wait

    def close(self) -> None:
        self.source.close()
        self.decoder.stats.flush_log()
