"""Pure verdict over a window of ``/diagnostics`` statuses (no ROS import).

Healthy means: statuses arrived, no component reported ERROR once the suite had ``settle_s``
seconds (from its first status) to come up, and no component is still in ERROR at the end.
An ERROR while the suite starts (a driver that has not heard its sensor yet) is a start-up
transient; one that persists, or appears later, fails the check. STALE statuses are reported
but do not fail it (a node that is slow to publish is not broken).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jetson_edge_common.diagnostics import Level


@dataclass
class DiagnosticsVerdict:
    """Accumulates (name, level, message, seconds since the first status) and renders the verdict."""

    settle_s: float = 0.0
    statuses_seen: int = 0
    names: set[str] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)      # ERROR after the settle time
    latest: dict[str, tuple[Level, str]] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)

    def add(self, name: str, level: Level, message: str, *, t: float = 0.0) -> None:
        self.statuses_seen += 1
        self.names.add(name)
        self.latest[name] = (level, message)
        if level == Level.ERROR and t >= self.settle_s:
            self.errors.setdefault(name, message)
        elif level == Level.STALE:
            self.stale.add(name)

    def failures(self) -> dict[str, str]:
        """Components that failed: ERROR after settling, or still in ERROR now."""
        still = {n: m for n, (level, m) in self.latest.items() if level == Level.ERROR}
        return {**still, **self.errors}

    @property
    def ok(self) -> bool:
        return self.statuses_seen > 0 and not self.failures()

    def summary(self) -> str:
        if self.statuses_seen == 0:
            return 'no /diagnostics received'
        failures = self.failures()
        if failures:
            first = ', '.join(f'{n}: {m}' for n, m in sorted(failures.items())[:3])
            return f'{len(failures)} component(s) reported ERROR ({first})'
        stale = f', {len(self.stale)} stale' if self.stale else ''
        return f'{len(self.names)} component(s) reported, none in ERROR{stale}'
