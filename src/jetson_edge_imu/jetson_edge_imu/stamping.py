"""Time stamps for samples: receive time minus the transport delay, spread back by the sample
period for samples that waited in a FIFO, and forced strictly increasing (a host clock step or a
scheduling hiccup must never produce a stamp equal to or before the previous one)."""

from __future__ import annotations


class Stamper:
    def __init__(self, *, period_ns: int, fixed_latency_ns: int = 0) -> None:
        if period_ns <= 0:
            raise ValueError('period_ns must be positive')
        self.period_ns = period_ns
        self.fixed_latency_ns = fixed_latency_ns
        self.last_ns: int | None = None
        self.adjusted = 0  # stamps moved forward to stay monotonic

    def stamp(self, receive_ns: int, *, wire_ns: int = 0, samples_before: int = 0) -> int:
        """Stamp of a sample received at ``receive_ns``.

        ``wire_ns`` is the time the read spent on the bus; ``samples_before`` how many newer
        samples followed this one in the same batch.
        """
        t = receive_ns - wire_ns - self.fixed_latency_ns - samples_before * self.period_ns
        if self.last_ns is not None and t <= self.last_ns:
            self.adjusted += 1
            t = self.last_ns + 1
        self.last_ns = t
        return t
