"""Pure verdict over a window of ``/diagnostics`` statuses (no ROS import).

Healthy means: at least one status arrived, and none was ERROR. STALE statuses are
reported but do not fail the check (a node that is slow to publish is not broken).
"""

from __future__ import annotations

from dataclasses import dataclass, field

OK, WARN, ERROR, STALE = 0, 1, 2, 3


@dataclass
class DiagnosticsVerdict:
    """Accumulates (name, level, message) statuses and renders the health verdict."""

    statuses_seen: int = 0
    names: set[str] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)

    def add(self, name: str, level: int, message: str) -> None:
        self.statuses_seen += 1
        self.names.add(name)
        if level == ERROR:
            self.errors.setdefault(name, message)
        elif level == STALE:
            self.stale.add(name)

    @property
    def ok(self) -> bool:
        return self.statuses_seen > 0 and not self.errors

    def summary(self) -> str:
        if self.statuses_seen == 0:
            return 'no /diagnostics received'
        if self.errors:
            first = ', '.join(f'{n}: {m}' for n, m in sorted(self.errors.items())[:3])
            return f'{len(self.errors)} component(s) reported ERROR ({first})'
        stale = f', {len(self.stale)} stale' if self.stale else ''
        return f'{len(self.names)} component(s) reported, none in ERROR{stale}'
