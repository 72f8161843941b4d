"""The viewer's /diagnostics verdict from its counters: a server that cannot bind its address is an
ERROR (the node retries); drops and conversion errors since the last report are a WARN (the viewer is behind, or a topic carries what it cannot show); so is a client
whose outbox overflowed lately (it stopped reading; the SDK dropped its oldest messages). No
client connected is normal: the viewer then converts nothing it need not."""

from __future__ import annotations

from jetson_edge_common.diagnostics import Status


class ViewerHealth:
    def __init__(self, address: str) -> None:
        self.address = address
        self._previous: dict[str, dict[str, int]] = {}

    def evaluate(self, counts: dict[str, dict[str, int]], *, clients: int,
                 outbox_overflows: int, recent_overflow: str = '', server_problem: str = '') -> Status:
        values: dict[str, object] = {'address': self.address, 'clients': clients,
                                     'client_outbox_overflows': outbox_overflows}
        problems = []
        for topic, c in counts.items():
            before = self._previous.get(topic, {})
            new_drops = c['dropped'] - before.get('dropped', 0)
            new_errors = c['errors'] - before.get('errors', 0)
            if new_drops:
                problems.append(f'{topic}: {new_drops} dropped (encoder behind)')
            if new_errors:
                problems.append(f'{topic}: {new_errors} not convertible')
            for key, value in c.items():
                values[f'{topic} {key}'] = value
        self._previous = {t: dict(c) for t, c in counts.items()}
        if recent_overflow:
            problems.append(recent_overflow)
        if server_problem:
            return Status.error(server_problem, **values)
        summary = f'serving {self.address} to {clients} client{"s" if clients != 1 else ""}'
        if problems:
            return Status.warn(f'{summary}; ' + '; '.join(problems), **values)
        return Status.ok(summary, **values)
