"""The driver loop's body: read a packet source, decode, hand back finished scans.

The ROS node runs :meth:`LidarDriver.poll` in its receive thread and publishes what it
returns; the benchmark and tests run the same loop without ROS.
"""

from __future__ import annotations

from .decoder import VelodyneDecoder
from .scan import Scan
from .sources import PacketSource


class LidarDriver:
    """One source feeding one decoder; call :meth:`poll` from a single thread."""

    def __init__(self, source: PacketSource, decoder: VelodyneDecoder) -> None:
        self.source = source
        self.decoder = decoder
        self._finished = False

    @property
    def finished(self) -> bool:
        """True once a finite source ran dry and its last partial scan was handed out."""
        return self._finished

    def poll(self, timeout_s: float) -> list[Scan]:
        """Wait up to ``timeout_s`` for packets; return the scans they completed."""
        batch = self.source.receive(timeout_s)
        scans = self.decoder.decode_batch(batch.packets, recv_times=batch.recv_times)
        if self.source.exhausted and not self._finished:
            self._finished = True
            scans += self.decoder.finish()
        return scans

    def close(self) -> None:
        self.source.close()
        self.decoder.stats.flush_log()
