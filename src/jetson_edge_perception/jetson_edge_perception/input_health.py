"""The perception node's inputs in its health: a stale camera is an ERROR when it is the only one (or
every one), a WARN naming it while other cameras still deliver; no input period yet is a WARN."""

from __future__ import annotations

from typing import Sequence

from jetson_edge_common.diagnostics import Level, Status
from jetson_edge_common.staleness import PeriodicInput


def with_input_staleness(status: Status, inputs: Sequence[PeriodicInput]) -> Status:
    periods = [round(p * 1e3, 1) if p else 'unknown' for p in (i.period_s for i in inputs)]
    status.values['image_period_ms'] = periods[0] if len(periods) == 1 else ', '.join(map(str, periods))
    stale = [s for s in (i.stale() for i in inputs) if s]
    if stale:
        level = Level.ERROR if len(stale) == len(inputs) else Level.WARN
        return Status(max(level, status.level), '; '.join(stale), status.values)
    waiting = [w for w in (i.waiting() for i in inputs) if w]
    if waiting and status.level < Level.WARN:
        return Status(Level.WARN, '; '.join(waiting), status.values)
    return status
