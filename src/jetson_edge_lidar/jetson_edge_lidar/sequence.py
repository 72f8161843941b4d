"""Follow one sensor's azimuth sequence; drop packets that do not continue it.

A spinning sensor's block azimuths advance at a rate fixed by the motor speed (``rpm``) and
the model's firing timing: :meth:`SensorModel.column_step` per block, so each packet starts
one step after the previous one ended, plus whole packets' worth for any packets lost on
the way (counted from the packet timestamps). :class:`AzimuthSequence` keeps an *anchor*,
the last packet it accepted, and passes on only packets that continue it; everything else
is held as a *candidate* run. A candidate run of ``resync_packets`` packets that continue
each other while the anchor accepted nothing re-anchors the sequence and its held packets
are passed on, in order: a sensor restart, a pause longer than a few packets, a loop of a
replayed capture, or start-up lose no packets, they arrive ``resync_packets`` packets late.
Packets of candidate runs that never get there are dropped and counted as
``out_of_sequence``.

Threat model: foreign packets with arbitrary azimuths interleaved with the real stream (a
second sensor on the same port, a spoofed source address, a corrupted stream). A foreign
packet is passed on only if its azimuths land within a few hundredths of a degree of where
the sensor's next packet will be, about one packet in a thousand for random azimuths. A
sender that follows the sequence itself is out of scope: it is indistinguishable from the
sensor.

Per packet the work is O(1): a stream in sequence is checked with a few vectorized numpy
operations per batch; only batches holding a packet out of sequence are walked one packet
at a time (scalar arithmetic, at most :data:`CANDIDATES` candidate runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import input_stats as reasons
from .input_stats import InputStats
from .models import ReturnMode, SensorModel
from .packet import AZIMUTH_UNITS, PACKET_DTYPE, PACKET_SIZE, TIMESTAMP_WRAP_US, PacketRun

#: Noise of one block azimuth reading in 0.01 deg (a real VLP-16 reads +-2 around the
#: ideal step) plus rounding.
JITTER = 5
#: How far the motor's speed may be from the configured ``rpm``; adjacent speed settings
#: (multiples of 60 RPM) differ by 5 % or more, so a wrong ``rpm`` is caught.
RATE_TOLERANCE = 0.02
#: Longest gap (lost packets, by the timestamps) bridged directly; a longer one
#: re-anchors through a candidate run.
MAX_LOST_PACKETS = 8
#: Candidate runs kept at once; the shortest, then the oldest, is given up first. A new
#: run's first packet survives this many foreign packets before its second one arrives.
CANDIDATES = 16
_HALF_TURN = AZIMUTH_UNITS // 2
_SCALAR_BELOW = 8
_RECORD = np.dtype((np.void, PACKET_SIZE))


class _Expectation:
    """Azimuth advance and timing of one (model, return mode) at the configured rpm."""

    def __init__(self, model: SensorModel, mode: ReturnMode, rpm: float) -> None:
        self.blocks_per_column = 2 if mode is ReturnMode.DUAL else 1
        self.columns = model.columns_per_packet(mode)
        self.step = model.column_step(rpm)
        self.period_us = model.packet_period_us(mode)
        offsets = np.arange(self.columns) * self.step
        self.offsets = offsets
        self.tolerance = JITTER + RATE_TOLERANCE * offsets
        self.describe = f'{model.name} at rpm {rpm:g} ({self.step / 100:.3f} deg per block)'


def _lands(expect: _Expectation, previous_last, first, lost):
    """Does a packet start where one ``lost`` packets after ``previous_last`` would?"""
    advance = (1 + lost * expect.columns) * expect.step
    error = (first - previous_last - advance + _HALF_TURN) % AZIMUTH_UNITS - _HALF_TURN
    return abs(error) <= JITTER + RATE_TOLERANCE * advance


@dataclass
class _Candidate:
    key: tuple[SensorModel, ReturnMode]
    last: int
    timestamp: int
    last_seq: int
    detail: str
    held: list[np.void] = field(default_factory=list)
    held_times: list[float] = field(default_factory=list)
    #: Packets of this run since the anchor last accepted one.
    run: int = 1


class AzimuthSequence:
    """Pass on packets that continue the sensor's azimuth sequence; call from one thread."""

    def __init__(self, *, rpm: float, resync_packets: int, max_gap_s: float,
                 stats: InputStats) -> None:
        self._rpm = rpm
        self._resync = resync_packets
        self._stats = stats
        self._expectations: dict[tuple[SensorModel, ReturnMode], _Expectation] = {}
        self._max_lost = MAX_LOST_PACKETS
        self._max_gap_us = max_gap_s * 1e6
        self._candidates: list[_Candidate] = []
        self.reset()

    def reset(self) -> None:
        """Forget the anchor and candidates (end of stream); held packets are dropped."""
        self._give_up(self._candidates)
        self._anchor: tuple[SensorModel, ReturnMode] | None = None
        self._anchor_last = 0
        self._anchor_timestamp = 0
        self._anchor_seq = -1
        self._seq = 0
        self._candidates: list[_Candidate] = []

    def follow(self, run: PacketRun) -> PacketRun | None:
        """The packets of ``run`` (and released held ones) that continue the sequence."""
        key = (run.model, run.mode)
        expect = self._expectation(key)
        columns = run.packets['blocks']['azimuth'][:, ::expect.blocks_per_column].astype(
            np.int64)
        # Each packet's own blocks must step like one rotation (random azimuths do not).
        offsets = (columns - columns[:, :1]) % AZIMUTH_UNITS
        steady = (np.abs(offsets - expect.offsets) <= expect.tolerance).all(axis=1)
        first, last = columns[:, 0], columns[:, -1]
        timestamps = run.packets['timestamp']

        # Does each packet continue the one before it in this batch? A few packets (the
        # node under a flood of foreign packets) cost less one by one, without this.
        linked = np.zeros(len(first), dtype=bool)
        if len(first) > _SCALAR_BELOW:
            linked[1:] = steady[1:] & steady[:-1] & _lands(expect, last[:-1], first[1:], 0)
            if not linked[1:].all():  # lost packets: ask the timestamps how many
                timestamps = timestamps.astype(np.int64)
                linked[1:] = steady[1:] & steady[:-1] & self._continues(
                    expect, last[:-1], timestamps[:-1], first[1:], timestamps[1:])
            if (key == self._anchor and steady[0] and linked[1:].all()
                    and self._continues(expect, self._anchor_last,
                                        self._anchor_timestamp, int(first[0]),
                                        int(timestamps[0]))):
                self._seq += len(run.packets)
                self._accept(int(last[-1]), int(timestamps[-1]))
                return run
        return self._walk(run, key, expect, steady, linked, first.tolist(), last.tolist(),
                          timestamps.astype(np.int64).tolist())

    def finish(self) -> PacketRun | None:
        """End of stream: release the longest candidate run that the anchor did not
        interrupt (at least two packets), drop the rest, and forget the sequence."""
        best = max(self._candidates, key=lambda c: (len(c.held), c.last_seq), default=None)
        released = None
        if best is not None and len(best.held) >= 2 and best.run >= len(best.held):
            self._candidates.remove(best)
            released = self._as_run(best.key, best.held, best.held_times)
        self.reset()
        return released

    def _expectation(self, key: tuple[SensorModel, ReturnMode]) -> _Expectation:
        if key not in self._expectations:
            self._expectations[key] = _Expectation(*key, self._rpm)
        return self._expectations[key]

    def _continues(self, expect: _Expectation, previous_last, previous_stamp, first,
                   stamp):
        """Does a packet starting at ``first`` follow one that ended at ``previous_last``?

        Works on numpy arrays and on plain numbers alike (only operators, so a single packet
        costs scalar arithmetic). Lost packets in between are counted from the timestamps;
        a timestamp that jumps (clock reset, replay loop) or claims a long gap counts as no
        loss, and a packet one step on is taken whatever its timestamp says.
        """
        elapsed = (stamp - previous_stamp) % TIMESTAMP_WRAP_US
        lost = (elapsed / expect.period_us + 0.5) // 1 - 1
        lost = lost * ((lost >= 0) & (lost <= self._max_lost) & (elapsed <= self._max_gap_us))
        return _lands(expect, previous_last, first, 0) | _lands(expect, previous_last, first,
                                                                 lost)

    def _accept(self, last: int, timestamp: int) -> None:
        self._anchor_last, self._anchor_timestamp = last, timestamp
        self._anchor_seq = self._seq

    def _walk(self, run: PacketRun, key, expect: _Expectation, steady: np.ndarray,
              linked: np.ndarray, first: list[int], last: list[int], timestamps: list[int]
              ) -> PacketRun | None:
        """One packet at a time (accept, hold as a candidate, or drop) until the anchor is
        a packet of this batch that all the ones after it continue."""
        records = run.packets.view(_RECORD)
        recv_times = run.recv_times.tolist()
        n = len(records)
        # rest_linked[i]: packets i.. each continue the one before them.
        rest_linked = np.append(np.logical_and.accumulate(linked[::-1])[::-1], True).tolist()
        accepted: list[int] = []
        out: list[np.void] = []
        out_times: list[float] = []
        unsteady, example = 0, 0
        rest = n
        for i, is_steady in enumerate(steady.tolist()):
            if i and rest_linked[i] and key == self._anchor and self._anchor_seq == self._seq:
                # The previous packet is the anchor and the rest continue it.
                rest = i
                self._seq += n - i
                self._accept(last[-1], timestamps[-1])
                break
            self._seq += 1
            if not is_steady:
                unsteady += 1
                example = i
                continue
            if key == self._anchor and self._continues(
                    expect, self._anchor_last, self._anchor_timestamp, first[i],
                    timestamps[i]):
                self._accept(last[i], timestamps[i])
                accepted.append(i)
                out.append(records[i])
                out_times.append(recv_times[i])
                continue
            promoted = self._hold(key, expect, records[i], recv_times[i], first[i], last[i],
                                  timestamps[i])
            if promoted is not None:
                self._anchor = key
                self._accept(promoted.last, promoted.timestamp)
                self._stats.add_resync()
                out.extend(promoted.held)
                out_times.extend(promoted.held_times)
        if unsteady:
            offsets = (run.packets['blocks']['azimuth'][example, ::expect.blocks_per_column]
                       .astype(np.int64))
            steps = np.diff(offsets) % AZIMUTH_UNITS / 100
            self._stats.drop(reasons.OUT_OF_SEQUENCE,
                             f'block azimuths step {np.round(steps, 2).tolist()} deg, not '
                             f'the rotation of a {expect.describe}', unsteady)
        if not out and rest == n:
            return None
        if len(accepted) == len(out):  # nothing released: no copy when nothing was dropped
            if len(accepted) == rest:
                return run
            index = accepted + list(range(rest, n))
            return PacketRun(records[index].view(PACKET_DTYPE), run.recv_times[index], *key)
        held = np.array(out, dtype=_RECORD)
        return PacketRun(np.concatenate([held, records[rest:]]).view(PACKET_DTYPE),
                         np.concatenate([out_times, run.recv_times[rest:]]), *key)

    def _hold(self, key, expect: _Expectation, record: np.void, recv_time: float,
              first: int, last: int, timestamp: int) -> _Candidate | None:
        """Add a packet to the candidate run it continues (or start one); return the run
        if it now re-anchors the sequence."""
        for candidate in self._candidates:
            if candidate.key == key and self._continues(
                    expect, candidate.last, candidate.timestamp, first, timestamp):
                break
        else:
            if len(self._candidates) >= CANDIDATES:
                weakest = min(self._candidates, key=lambda c: (len(c.held), c.last_seq))
                self._candidates.remove(weakest)
                self._give_up([weakest])
            expected = '' if self._anchor is None else (
                f' ({(self._anchor_last + expect.step) % AZIMUTH_UNITS / 100:.2f} deg or a '
                f'few packets later continues it)')
            candidate = _Candidate(
                key=key, last=last, timestamp=timestamp, last_seq=self._seq, run=0,
                detail=f'azimuth {first / 100:.2f} deg does not continue the stream of a '
                       f'{expect.describe}{expected}: another sender on the port, or rpm '
                       f'differs from the sensor\'s motor speed')
            self._candidates.append(candidate)
        candidate.run = candidate.run + 1 if self._anchor_seq < candidate.last_seq else 1
        candidate.last, candidate.timestamp, candidate.last_seq = last, timestamp, self._seq
        candidate.held.append(record)
        candidate.held_times.append(recv_time)
        if len(candidate.held) > self._resync:
            del candidate.held[0], candidate.held_times[0]
            self._stats.drop(reasons.OUT_OF_SEQUENCE, candidate.detail)
        if candidate.run < self._resync:
            return None
        self._candidates.remove(candidate)
        self._give_up(self._candidates)
        self._candidates = []
        return candidate

    def _give_up(self, candidates: list[_Candidate]) -> None:
        for candidate in candidates:
            self._stats.drop(reasons.OUT_OF_SEQUENCE, candidate.detail, len(candidate.held))

    @staticmethod
    def _as_run(key, records: list[np.void], recv_times: list[float]) -> PacketRun:
        packets = np.array(records, dtype=_RECORD).view(PACKET_DTYPE)
        return PacketRun(packets, np.asarray(recv_times, dtype=np.float64), *key)
