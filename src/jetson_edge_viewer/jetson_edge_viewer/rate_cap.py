"""Per-topic rate cap: a message is forwarded only if the previous forwarded one is at least a
period old, so a 1 kHz IMU or a 30 Hz camera costs the viewer what its cap allows and no more."""

from __future__ import annotations


class RateCap:
    """Admits at most ``max_hz`` messages a second (0: admits none; ``inf``: all).

    Decided on arrival time alone, before anything is decoded. A period is measured from the
    last admitted message, with a 5 % tolerance so that a publisher at exactly the cap (5 Hz
    camera, 5 Hz cap) with jitter is not halved.
    """

    TOLERANCE = 0.95

    def __init__(self, max_hz: float) -> None:
        if max_hz < 0:
            raise ValueError(f'rate cap must be >= 0 Hz, got {max_hz}')
        self.max_hz = max_hz
        self._min_interval = float('inf') if max_hz == 0 else self.TOLERANCE / max_hz
        self._last: float | None = None
        self.admitted = 0
        self.skipped = 0

    def admit(self, now: float) -> bool:
        if self._last is not None and now - self._last < self._min_interval or self.max_hz == 0:
            self.skipped += 1
            return False
        self._last = now
        self.admitted += 1
        return True
