"""Time stamps for samples: read time minus the sample's age at the device, spread back by the sample
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

    def stamp(self, read_ns: int, *, delay_ns: int = 0, samples_before: int = 0) -> int:
        """Stamp of a sample read at ``read_ns`` (when the read began).

        ``delay_ns`` is how long before ``read_ns`` the newest sample of the read was taken
        (its age at the device less the time the request needs to reach it; may be negative);
        ``samples_before`` how many newer samples followed this one in the same batch.
        """
        t = read_ns - delay_ns - self.fixed_latency_ns - samples_before * self.period_ns
        if self.last_ns is not None and t <= self.last_ns:
            self.adjusted += 1
            t = self.last_ns + 1
        self.last_ns = t
        return t
