"""Exponential back-off for reconnect attempts."""

from __future__ import annotations


class Backoff:
    def __init__(self, *, initial_s: float = 0.1, max_s: float = 5.0, factor: float = 2.0) -> None:
        if initial_s <= 0 or max_s < initial_s or factor < 1:
            raise ValueError('need 0 < initial_s <= max_s and factor >= 1')
        self.initial_s = initial_s
        self.max_s = max_s
        self.factor = factor
        self.attempts = 0

    def next_delay(self) -> float:
        delay = min(self.max_s, self.initial_s * self.factor ** self.attempts)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self.attempts = 0
