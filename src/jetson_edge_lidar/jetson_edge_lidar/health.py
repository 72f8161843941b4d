"""Driver health from its counters: the pure core of the LiDAR diagnostics.

:class:`LidarHealth` compares what arrived since the last evaluation with what the sensor
should send (packet rate of the model and return mode, scan rate of the RPM, both in the
sensor's own time) and turns
silence, malformed input and lost packets into a level, a message a person can act on and
the numbers behind it. The node publishes the result on ``/diagnostics`` once a second.
"""

from __future__ import annotations

from jetson_edge_common.diagnostics import Level, Status

from . import input_stats as reasons
from .input_stats import StatsSnapshot
from .models import ReturnMode, SensorModel


class LidarHealth:
    """Evaluate a stream of :class:`StatsSnapshot` (one per diagnostics period).

    Packet and scan rates are counted per second of the sensor's own clock (the packet
    timestamps), not per second of arrival: a burst of packets that waited in the socket
    buffer while the host stalled is not a wrong rate, and a replay at any speed is checked
    against the device it was recorded from.
    """

    def __init__(self, *, source: str, rpm: float, model: SensorModel | None = None,
                 return_mode: ReturnMode | None = None, stale_after_periods: int = 10,
                 packet_rate_tolerance: float = 0.1,
                 scan_rate_tolerance: float = 0.25) -> None:
        self._source = source
        self._rpm = rpm
        self._model = model
        self._mode = return_mode
        # The driver's input period is a rotation: packets come in bursts off the network,
        # a scan is what the sensor delivers at its own period.
        self._stale_after_periods = stale_after_periods
        self._stale_after = stale_after_periods * 60.0 / rpm
        self._packet_tolerance = packet_rate_tolerance
        self._scan_tolerance = scan_rate_tolerance
        self._previous: StatsSnapshot | None = None

    def evaluate(self, snap: StatsSnapshot, *, model: SensorModel | None = None,
                 return_mode: ReturnMode | None = None, finished: bool = False) -> Status:
        """``model``/``return_mode``: what the decoder saw in the packets, if anything;
        ``finished``: a replay reached its end."""
        model = model or self._model
        mode = return_mode or self._mode
        previous, self._previous = self._previous, snap
        problems: list[tuple[Level, str]] = []
        values = {
            'source': self._source,
            'model': model.name if model else 'unknown',
            'return_mode': mode.label if mode else 'unknown',
            'datagrams_received': str(snap.received),
            'packets_decoded': str(snap.packets),
            'scans': str(snap.scans),
            'partial_scans': str(snap.partial_scans),
            'dropped_total': str(snap.dropped),
            'gaps': str(snap.gaps),
            'missing_packets': str(snap.missing_packets),
            'clock_jumps': str(snap.clock_jumps),
            'resyncs': str(snap.resyncs),
        }
        for reason, count in sorted(snap.drops.items()):
            values[f'dropped_{reason}'] = str(count)

        silent_for = (None if snap.last_packet_at is None
                      else snap.taken_at - snap.last_packet_at)
        if finished:
            problems.append((Level.WARN, f'replay of {self._source} finished'))
        elif silent_for is None:
            problems.append((Level.ERROR, f'no packets received yet on {self._source}; '
                             f'check the sensor power, cable, IP settings and port'))
        elif silent_for > self._stale_after:
            problems.append((Level.ERROR, f'no packets for {silent_for:.1f} s on '
                             f'{self._source} (stale after {self._stale_after_periods} '
                             f'rotations = {self._stale_after:.2f} s)'))
        values['seconds_since_last_packet'] = ('never' if silent_for is None
                                               else f'{silent_for:.3f}')

        if previous is not None and snap.taken_at > previous.taken_at:
            problems += self._window_checks(previous, snap, model, mode, values,
                                            checking_rates=not finished
                                            and silent_for is not None
                                            and silent_for <= self._stale_after)
        level = max((lvl for lvl, _ in problems), default=Level.OK)
        message = '; '.join(text for lvl, text in problems if lvl == level) or 'receiving'
        return Status(level, message, values)

    def _window_checks(self, previous: StatsSnapshot, snap: StatsSnapshot,
                       model: SensorModel | None, mode: ReturnMode | None,
                       values: dict[str, str], *, checking_rates: bool
                       ) -> list[tuple[Level, str]]:
        problems: list[tuple[Level, str]] = []
        span = snap.taken_at - previous.taken_at
        received = snap.received - previous.received
        decoded = snap.packets - previous.packets
        dropped = snap.dropped - previous.dropped
        missing = snap.missing_packets - previous.missing_packets
        scans = snap.scans - previous.scans
        points = snap.points - previous.points
        values['datagrams_per_s'] = f'{received / span:.1f}'
        values['points_per_scan'] = str(points // scans) if scans else '0'

        if received and decoded == 0 and dropped:
            new = {r: n - previous.drops.get(r, 0) for r, n in snap.drops.items()}
            worst = max(new, key=new.get)
            hint = (f'; check that rpm ({self._rpm:g}) is the sensor\'s motor speed'
                    if worst == reasons.OUT_OF_SEQUENCE else '')
            problems.append((Level.ERROR, f'all {received} datagrams in the last {span:.1f} s '
                             f'were unusable (mostly {worst}){hint}'))
        elif dropped:
            problems.append((Level.WARN, f'{dropped} bad datagrams skipped in the last '
                             f'{span:.1f} s'))
        if missing:
            problems.append((Level.WARN, f'{missing} packets lost in the last {span:.1f} s '
                             f'(network drops or receive buffer overruns)'))

        if model is None or mode is None:
            return problems
        expected_packets = model.packet_rate_hz(mode)
        expected_scans = self._rpm / 60.0
        values['expected_packet_rate_hz'] = f'{expected_packets:.1f}'
        values['expected_scan_rate_hz'] = f'{expected_scans:.2f}'
        device_span = (None if snap.device_time_s is None or previous.device_time_s is None
                       else snap.device_time_s - previous.device_time_s)
        # No decoded packets, or the sensor clock restarted (the model changed): no rates.
        if not checking_rates or not decoded or not device_span or device_span <= 0:
            return problems
        packet_rate = decoded / device_span
        scan_rate = scans / device_span
        values['packet_rate_hz'] = f'{packet_rate:.1f}'
        values['scan_rate_hz'] = f'{scan_rate:.2f}'
        if abs(packet_rate - expected_packets) > self._packet_tolerance * expected_packets:
            problems.append((Level.WARN, f'packet rate {packet_rate:.0f}/s, expected '
                             f'{expected_packets:.0f}/s for a {model.name} in {mode.label} '
                             f'mode'))
        if abs(scan_rate - expected_scans) > self._scan_tolerance * expected_scans:
            problems.append((Level.WARN, f'{scan_rate:.1f} scans/s, expected '
                             f'{expected_scans:.1f} for rpm {self._rpm:g}; set rpm to the '
                             f'sensor\'s motor speed'))
        return problems
