"""One camera's counters in the perception worker: rates, drops by reason, latency, input age."""

from __future__ import annotations

import time
from typing import Callable

from jetson_edge_common.stats import LatencyStats, RateMeter

from .frames import DropCounter
from .latest import RateLimiter


class CameraStats:
    """What diagnostics report per camera; the rate limiter applies `max_rate_hz` to each camera alone."""

    def __init__(self, name: str, limiter: RateLimiter, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.limiter = limiter
        self.received = RateMeter(5.0, clock=clock)
        self.processed = RateMeter(5.0, clock=clock)
        self.drops = DropCounter()
        self.latency = LatencyStats(500)
        self.input_age = LatencyStats(500)

    def values(self) -> dict[str, object]:
        latency = self.latency.summary()
        values: dict[str, object] = {
            'received_hz': round(self.received.rate(), 2), 'processed_hz': round(self.processed.rate(), 2),
            'frames_processed': self.processed.total, 'dropped_total': self.drops.total,
            'latency_p50_ms': round(latency['p50'] * 1e3, 2), 'latency_p99_ms': round(latency['p99'] * 1e3, 2),
            'input_age_p50_ms': round(self.input_age.summary()['p50'] * 1e3, 2),
        }
        for reason, count in sorted(self.drops.snapshot().items()):
            values[f'dropped_{reason}'] = count
        return values
