"""Stateful Velodyne decoder: data packets in, one scan (rotation) out per turn.

``decode(packet)`` is cheap: it buffers the datagram and looks only at its last azimuth to
notice that the rotation passed ``cut_angle``; the buffered packets are then validated and
decoded together with numpy (no per-point Python loop), and the finished scan is returned.
``decode_batch(packets)`` does the same for many packets at once (pcap files, benchmarks)
and ``finish()`` returns whatever is left at the end of a stream.

Per data point the decoder applies what the manuals prescribe: the firing time offset inside
the packet, the azimuth interpolated between consecutive blocks at that time, the laser's
azimuth offset (VLP-32C) and vertical offset (VLP-16, Puck Hi-Res). Scans are cut at the
exact point where the interpolated azimuth passes ``cut_angle``, not at packet boundaries.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .config import DecoderConfig
from .input_stats import InputStats
from .models import BLOCKS_PER_PACKET, SLOTS_PER_BLOCK, ReturnMode, SensorModel
from .packet import AZIMUTH_UNITS, PACKET_SIZE, TIMESTAMP_WRAP_US, PacketRun, validate
from .scan import POINT_DTYPE, Scan, StampSource, join_top_of_hour
from .sequence import AzimuthSequence

POINTS_PER_PACKET = BLOCKS_PER_PACKET * SLOTS_PER_BLOCK
#: Longest scan handed out; the slowest supported rotation (300 RPM) takes 0.2 s.
MAX_SCAN_DURATION_S = 0.5
#: decode_batch with at least this many packets decodes them at once.
_DIRECT_BATCH = 64
#: Packets decoded per vectorized step: small enough for the working set to stay in cache.
_SLICE = 96
_LAST_AZIMUTH_OFFSET = 100 * (BLOCKS_PER_PACKET - 1) + 2
_RECORD = np.dtype((np.void, POINT_DTYPE.itemsize))
_HUNDREDTHS_TO_RAD = np.float32(math.pi / 18000.0)


class _Tables:
    """Per-slot lookup tables of one (model, return mode), in the order points sit in a block,
    and the scratch points a segment is computed into."""

    def __init__(self, model: SensorModel, mode: ReturnMode, config: DecoderConfig) -> None:
        laser = model.slot_laser
        elevation = np.radians(np.asarray(model.elevation_deg))[laser]
        resolution = model.distance_resolution_m
        # Range units straight to horizontal distance and height, one multiply each.
        self.horizontal = (resolution * np.cos(elevation)).astype(np.float32)
        self.vertical = (resolution * np.sin(elevation)).astype(np.float32)
        self.v_offset = (np.asarray(model.vertical_offset_mm)[laser] * 1e-3).astype(np.float32)
        self.ring = model.ring_of_laser[laser]
        self.az_offset = (np.asarray(model.azimuth_offset_deg)[laser] * 100.0).astype(np.float32)
        self.has_az_offset = bool(self.az_offset.any())
        self.az_offset_angle = self.az_offset * -np.float32(math.pi / 18000.0)
        self.has_v_offset = bool(self.v_offset.any())
        self.fraction = (model.slot_time_us / model.block_period_us).astype(np.float32)
        self.max_fraction = float(self.fraction.max())
        self.point_time_us = model.point_time_us(mode)
        self.point_time_s = (self.point_time_us * 1e-6).astype(np.float32).ravel()
        self.point_time_flat = self.point_time_us.ravel()
        self.last_firing_us = float(self.point_time_us.max())
        self.period_us = model.packet_period_us(mode)
        self.min_raw = max(1, math.ceil(config.min_range / resolution - 1e-9))
        max_raw = math.floor(config.range_limit_m(model) / resolution + 1e-9)
        # Negative (nothing in range) when min_range rounds above the range limit.
        self.raw_span = min(max_raw, 0xFFFF) - self.min_raw
        self.step = 2 if mode is ReturnMode.DUAL else 1
        self._cloud = np.empty((0, SLOTS_PER_BLOCK), POINT_DTYPE)

    def cloud(self, blocks: int) -> np.ndarray:
        """Scratch points for ``blocks`` data blocks, rings already filled in. Reused from
        segment to segment (the kept points are copied out), so its pages stay mapped."""
        if len(self._cloud) < blocks:
            self._cloud = np.empty((blocks + blocks // 4, SLOTS_PER_BLOCK), POINT_DTYPE)
            self._cloud['ring'] = self.ring
        return self._cloud[:blocks]


class VelodyneDecoder:
    """Decode a stream of Velodyne data packets into scans cut at ``config.cut_angle``.

    Not thread-safe: feed it from one thread. ``stats`` (shared with the packet source, if
    any) counts every dropped datagram by reason.
    """

    def __init__(self, config: DecoderConfig | None = None, *, stats: InputStats | None = None,
                 clock: Callable[[], float] = time.time,
                 max_buffered_packets: int = 256) -> None:
        self._config = config if config is not None else DecoderConfig()
        self._stats = stats if stats is not None else InputStats()
        self._clock = clock
        self._max_buffered = max_buffered_packets
        self._cut = self._config.cut_angle * 100.0
        self._model_filter = self._config.sensor_model
        self._mode_filter = self._config.expected_return_mode
        self._sequence = AzimuthSequence(rpm=self._config.rpm,
                                         resync_packets=self._config.resync_packets,
                                         max_gap_s=self._config.max_gap_s, stats=self._stats)
        self._tables: dict[tuple[SensorModel, ReturnMode], _Tables] = {}
        self._buffer: list[bytes] = []
        self._buffer_times: list[float] = []
        self._trigger_azimuth: int | None = None
        self._trigger_time = 0.0
        self._ready: deque[Scan] = deque()
        self._expected_points = 4096
        self.model: SensorModel | None = None
        self.return_mode: ReturnMode | None = None
        self._reset_continuity()
        self._reset_scan()

    @property
    def config(self) -> DecoderConfig:
        return self._config

    @property
    def stats(self) -> InputStats:
        return self._stats

    def decode(self, packet: bytes, *, recv_time: float | None = None) -> Scan | None:
        """Feed one datagram; return a scan when this packet completed one, else None.

        If one packet completes two scans (only after a stream interruption), the second is
        returned by the next call or by :meth:`finish`.
        """
        # The per-packet path of a live stream: the cut check of _feed for one packet,
        # without the loop.
        self._stats.add_received(1)
        self._buffer.append(packet)
        self._buffer_times.append(self._clock() if recv_time is None else recv_time)
        azimuth = _last_azimuth(packet)
        if azimuth is not None:
            previous, self._trigger_azimuth = self._trigger_azimuth, azimuth
            self._trigger_time = self._buffer_times[-1]
            if previous is not None and self._passes_cut(previous, azimuth):
                self._process_buffer()
                return self._ready.popleft() if self._ready else None
        if len(self._buffer) >= self._max_buffered:
            self._process_buffer()
        return self._ready.popleft() if self._ready else None

    def decode_batch(self, packets: Sequence[bytes], *,
                     recv_times: Sequence[float] | np.ndarray | None = None) -> list[Scan]:
        """Feed many datagrams (in arrival order); return every scan they completed."""
        if recv_times is None:
            recv_times = [self._clock()] * len(packets)
        elif len(recv_times) != len(packets):
            raise ValueError(f'{len(recv_times)} receive times for {len(packets)} packets')
        self._stats.add_received(len(packets))
        if len(packets) < _DIRECT_BATCH:
            self._feed(packets, recv_times)
            return self._drain()
        # Many packets at once (a file, a benchmark): decode in large vectorized slices
        # instead of looking at every packet's azimuth in Python first.
        for start in range(0, len(packets), _SLICE):
            self._buffer.extend(packets[start:start + _SLICE])
            self._buffer_times.extend(recv_times[start:start + _SLICE])
            self._process_buffer()
        self._trigger_azimuth = _last_azimuth(packets[-1])
        self._trigger_time = float(recv_times[-1])
        return self._drain()

    def _feed(self, packets: Sequence[bytes], recv_times: Sequence[float]) -> None:
        self._buffer.extend(packets)
        self._buffer_times.extend(recv_times)
        # Cheap check on the raw bytes: did the rotation reach the cut angle by one of these
        # packets' last block? Only then is the buffer decoded (all of it: the scans are cut
        # at the exact azimuth, whichever packet the buffer ends with).
        previous, crossed = self._trigger_azimuth, False
        for packet, recv_time in zip(packets, recv_times):
            azimuth = _last_azimuth(packet)
            if azimuth is not None:
                if previous is not None and self._passes_cut(previous, azimuth):
                    crossed = True
                previous = azimuth
                self._trigger_time = recv_time
        self._trigger_azimuth = previous
        if crossed or len(self._buffer) >= self._max_buffered:
            self._process_buffer()

    def _passes_cut(self, previous: int, azimuth: int) -> bool:
        """Did the rotation from ``previous`` to ``azimuth`` reach the cut angle?"""
        return (self._cut - previous) % AZIMUTH_UNITS <= (azimuth - previous) % AZIMUTH_UNITS

    def next_cut_time(self) -> float | None:
        """When the rotation reaches the cut angle next, on the receive-time clock: from the
        newest packet's last azimuth at the configured ``rpm``. None before the first packet.
        The packet completing the scan arrives up to one packet period after that."""
        if self._trigger_azimuth is None:
            return None
        # A packet ending exactly at the cut already completed its scan: the next cut is a
        # whole rotation away, not now.
        to_cut = (self._cut - self._trigger_azimuth - 1) % AZIMUTH_UNITS + 1
        return self._trigger_time + to_cut * 60.0 / (self._config.rpm * AZIMUTH_UNITS)

    def finish(self) -> list[Scan]:
        """End of stream: decode what is buffered and return the remaining (partial) scans."""
        self._process_buffer()
        held = self._sequence.finish()
        if held is not None:
            self._decode_run(held)
        self._finish_scan(complete=False)
        self._reset_continuity()
        self._trigger_azimuth = None
        return self._drain()

    def _drain(self) -> list[Scan]:
        scans = list(self._ready)
        self._ready.clear()
        return scans

    def _process_buffer(self) -> None:
        if not self._buffer:
            return
        packets, times = self._buffer, np.asarray(self._buffer_times, dtype=np.float64)
        self._buffer, self._buffer_times = [], []
        for run in validate(packets, times, stats=self._stats, model=self._model_filter,
                            mode=self._mode_filter):
            run = self._sequence.follow(run)
            if run is not None:
                self._decode_run(run)

    def _tables_for(self, model: SensorModel, mode: ReturnMode) -> _Tables:
        key = (model, mode)
        if key not in self._tables:
            self._tables[key] = _Tables(model, mode, self._config)
        return self._tables[key]

    def _reset_continuity(self) -> None:
        self._prev_timestamp: int | None = None
        self._prev_time_us = 0.0
        self._prev_azimuth: int | None = None
        self._prev_cum_azimuth = 0.0

    def _reset_scan(self) -> None:
        self._scan_id: int | None = None
        self._started_at_cut = False
        self._fill = 0
        self._points: np.ndarray | None = None
        self._first_us = 0.0
        self._last_us = 0.0
        self._first_device_us = 0.0
        self._first_host = 0.0
        self._scan_packets = 0

    def _decode_run(self, run: PacketRun) -> None:
        if (run.model, run.mode) != (self.model, self.return_mode):
            if self.model is not None:
                self._finish_scan(complete=False)
                self._reset_continuity()
            self.model, self.return_mode = run.model, run.mode
        tables = self._tables_for(run.model, run.mode)

        timestamps = run.packets['timestamp'].astype(np.int64)
        fresh = self._prev_timestamp is None
        previous = timestamps[0] if fresh else self._prev_timestamp
        step_us = (_steps(timestamps, previous) % TIMESTAMP_WRAP_US).astype(np.float64)
        # A timestamp that does not advance (replayed loop, sensor clock reset) keeps the
        # scan's time axis going at the nominal packet period instead of running backwards.
        stalled = (step_us < tables.period_us / 2) | (step_us > TIMESTAMP_WRAP_US / 2)
        if fresh:
            stalled[0] = False
        if stalled.any():
            self._stats.add_clock_jumps(int(stalled.sum()))
            step_us[stalled] = tables.period_us
        late = step_us > 1.5 * tables.period_us
        for i in np.flatnonzero(late):
            self._stats.add_gap(int(round(step_us[i] / tables.period_us)) - 1)
        times_us = self._prev_time_us + np.cumsum(step_us)
        if fresh:
            times_us -= times_us[0] - timestamps[0]
        self._prev_timestamp = int(timestamps[-1])
        self._prev_time_us = float(times_us[-1])
        self._stats.add_packets(len(run.packets), device_time_s=self._prev_time_us * 1e-6)

        # A long pause ends the scan: the rotation in between is unknown.
        breaks = set(np.flatnonzero(step_us > self._config.max_gap_s * 1e6).tolist())
        bounds = sorted({0, len(run.packets), *breaks})
        for start, stop in zip(bounds[:-1], bounds[1:]):
            if start in breaks:
                self._finish_scan(complete=False)
                self._prev_azimuth = None
            self._decode_segment(run, tables, slice(start, stop), times_us[start:stop])

    def _decode_segment(self, run: PacketRun, tables: _Tables, part: slice,
                        times_us: np.ndarray) -> None:
        packets = run.packets[part]
        recv_times = run.recv_times[part]
        n = len(packets)
        blocks = packets['blocks']

        # Unwrapped azimuth of every firing column in 0.01 deg, relative to the segment's
        # first column so float32 keeps 0.001-deg precision.
        columns = blocks['azimuth'][:, ::tables.step].astype(np.int64).ravel()
        if self._prev_azimuth is None:
            self._prev_azimuth, self._prev_cum_azimuth = int(columns[0]), float(columns[0])
        turn = _steps(columns, self._prev_azimuth) % AZIMUTH_UNITS
        base = self._prev_cum_azimuth + float(turn[0])
        self._prev_azimuth = int(columns[-1])
        self._prev_cum_azimuth += float(turn.sum())
        relative = (np.cumsum(turn) - turn[0]).astype(np.float32).reshape(n, -1)
        # Rotation during one column, for interpolation; the last column of a packet reuses
        # the one before it (the next packet may be late or lost).
        gap = np.empty_like(relative)
        np.subtract(relative[:, 1:], relative[:, :-1], out=gap[:, :-1])
        gap[:, -1] = gap[:, -2]
        if tables.step == 2:
            relative = np.repeat(relative, 2, axis=1)
            gap = np.repeat(gap, 2, axis=1)

        # Keep the returns in range, as flat indices into (packet, block, slot).
        returns = blocks['returns']
        distance = returns['distance'].reshape(-1)
        # min_raw <= distance <= max_raw in one comparison: below min_raw wraps around.
        keep = np.subtract(distance, np.uint16(tables.min_raw)) <= tables.raw_span
        if tables.step == 2:
            # The second block of a pair repeats the first when there was only one return.
            pairs = returns.reshape(n, BLOCKS_PER_PACKET // 2, 2, SLOTS_PER_BLOCK)
            repeated = ((pairs['distance'][:, :, 1] == pairs['distance'][:, :, 0])
                        & (pairs['reflectivity'][:, :, 1] == pairs['reflectivity'][:, :, 0]))
            keep.reshape(n, BLOCKS_PER_PACKET // 2, 2, SLOTS_PER_BLOCK)[:, :, 1] &= ~repeated
        # Every point of the segment is computed on the whole (packet, block, slot) grid,
        # kept or not, straight into one point array; the kept ones are then copied into their
        # scans in one gather of whole records. Cheaper than gathering each quantity by index
        # first: most slots return something, and the grid's arithmetic is contiguous.
        # Azimuth interpolated to each firing, relative to the segment's first column, turned
        # straight into a REP 103 angle: radians, counter-clockwise (the sensor counts
        # clockwise, hence the minus).
        azimuth = relative.reshape(-1, 1) + gap.reshape(-1, 1) * tables.fraction
        angle = (azimuth + np.float32(base % AZIMUTH_UNITS)) * -_HUNDREDTHS_TO_RAD
        if tables.has_az_offset:
            angle += tables.az_offset_angle
        if self._config.crops_azimuth:
            keep &= _in_azimuth_window(
                np.mod(angle / -_HUNDREDTHS_TO_RAD, AZIMUTH_UNITS),
                self._config.min_azimuth * 100, self._config.max_azimuth * 100).reshape(-1)

        # Scan k holds the azimuths in [cut + k*360, cut + (k+1)*360).
        turns_before, past_cut = divmod(base - self._cut, AZIMUTH_UNITS)
        end = float(relative[-1, -1] + gap[-1, -1] * tables.max_fraction)
        first_scan = int(turns_before)
        last_scan = first_scan + math.floor((end + past_cut) / AZIMUTH_UNITS)
        if self._scan_id is None:
            self._scan_id = first_scan
        if last_scan > self._scan_id:
            # Turns past the segment's first cut, >= 0: a point is in scan first_scan + k
            # when k <= turns < k + 1. Dual-return block pairs (or an extrapolated packet
            # end) can straddle the cut, so points are picked by value, not by index range.
            turns = ((azimuth + np.float32(past_cut)) * np.float32(1 / AZIMUTH_UNITS)
                     ).reshape(-1)
            parts = []
            for sid in range(self._scan_id, last_scan):
                mine = keep & (turns < sid + 1 - first_scan)
                keep ^= mine
                parts.append(np.flatnonzero(mine))
            parts.append(np.flatnonzero(keep))
        else:
            parts = [np.flatnonzero(keep)]
        if not any(len(part) for part in parts):
            cloud = None
        else:
            grid = distance.reshape(-1, SLOTS_PER_BLOCK)
            cloud = tables.cloud(len(grid))
            horizontal = grid * tables.horizontal
            np.multiply(horizontal, np.cos(angle), out=cloud['x'])
            np.multiply(horizontal, np.sin(angle), out=cloud['y'])
            if tables.has_v_offset:
                # Summed before the strided write into the records: one pass over them.
                cloud['z'] = grid * tables.vertical + tables.v_offset
            else:
                np.multiply(grid, tables.vertical, out=cloud['z'])
            cloud['intensity'] = returns['reflectivity'].reshape(grid.shape)
            # Seconds since the segment's first packet; _append moves them to the scan's.
            np.add.outer(((times_us - times_us[0]) * 1e-6).astype(np.float32),
                         tables.point_time_s, out=cloud.reshape(n, -1)['time'])
            cloud = cloud.reshape(-1)
        segment = _Segment(tables=tables, cloud=cloud, times_us=times_us,
                           timestamps=packets['timestamp'], recv_times=recv_times)
        for sid, index in zip(range(self._scan_id, last_scan + 1), parts):
            if len(index):
                self._append(segment, index)
            if sid < last_scan:
                self._finish_scan(complete=self._started_at_cut)
                self._scan_id = sid + 1
                self._started_at_cut = True
        if self._fill and self._last_us - self._first_us > MAX_SCAN_DURATION_S * 1e6:
            # The azimuth is not advancing (motor stopped or garbage azimuths): hand out
            # what there is rather than growing one scan forever.
            self._finish_scan(complete=False)

    def _append(self, segment: _Segment, index: np.ndarray) -> None:
        """Copy the points of ``index`` from the segment into the current scan's array."""
        tables = segment.tables
        count = len(index)
        if self._fill == 0:
            self._points = np.empty(max(count, self._expected_points), dtype=POINT_DTYPE)
        elif self._fill + count > len(self._points):
            grown = np.empty(max(2 * len(self._points), self._fill + count), dtype=POINT_DTYPE)
            grown.view(_RECORD)[:self._fill] = self._points.view(_RECORD)[:self._fill]
            self._points = grown
        out = self._points[self._fill:self._fill + count]
        # mode='clip' (the indices are in range anyway) lets take write straight into out.
        np.take(segment.cloud.view(_RECORD), index, out=out.view(_RECORD), mode='clip')
        seconds = out['time']
        if self._fill == 0:
            # The earliest point (not always the first: dual-return pairs share firings).
            earliest = int(np.argmin(seconds))
            packet, offset = divmod(int(index[earliest]), POINTS_PER_PACKET)
            into_packet = float(tables.point_time_flat[offset])
            self._first_us = float(segment.times_us[packet]) + into_packet
            self._first_device_us = float(segment.timestamps[packet]) + into_packet
            self._first_host = (float(segment.recv_times[packet])
                                - (tables.last_firing_us - into_packet) * 1e-6)
            # Exactly 0 for that point, whatever the float rounding.
            seconds -= seconds[earliest]
        else:
            seconds += np.float32((segment.times_us[0] - self._first_us) * 1e-6)
        self._fill += count
        self._last_us = float(segment.times_us[-1]) + tables.last_firing_us
        self._scan_packets += (int(index[-1]) - int(index[0])) // POINTS_PER_PACKET + 1

    def _finish_scan(self, *, complete: bool) -> None:
        points, count = self._points, self._fill
        first_us, device_us, host = self._first_us, self._first_device_us, self._first_host
        packets = self._scan_packets
        self._reset_scan()
        if not count:
            return
        # Next scan's array: room for this many points plus margin, so it rarely grows.
        self._expected_points = count + count // 4
        points = points[:count]
        device = join_top_of_hour(device_us, host)
        stamp = device if self._config.stamp is StampSource.DEVICE else host
        self._stats.add_scan(count, complete=complete)
        self._ready.append(Scan(
            points=points, stamp=stamp, device_stamp=device, host_stamp=host,
            model=self.model.name, return_mode=self.return_mode,
            packets=packets, complete=complete))


@dataclass(frozen=True)
class _Segment:
    """One decoded run of packets, as :meth:`VelodyneDecoder._append` reads it."""

    tables: _Tables
    #: Every slot's point, kept or not (None when the segment keeps none), its time in
    #: seconds since the segment's first packet.
    cloud: np.ndarray | None
    times_us: np.ndarray
    timestamps: np.ndarray
    recv_times: np.ndarray


def _steps(values: np.ndarray, previous: int) -> np.ndarray:
    """``np.diff(values, prepend=previous)`` without its overhead (called per segment)."""
    steps = np.empty_like(values)
    steps[0] = values[0] - previous
    np.subtract(values[1:], values[:-1], out=steps[1:])
    return steps


def _last_azimuth(packet: bytes) -> int | None:
    if len(packet) != PACKET_SIZE:
        return None
    azimuth = packet[_LAST_AZIMUTH_OFFSET] | (packet[_LAST_AZIMUTH_OFFSET + 1] << 8)
    return azimuth if azimuth < AZIMUTH_UNITS else None


def _in_azimuth_window(azimuth: np.ndarray, low: float, high: float) -> np.ndarray:
    if low <= high:
        return (azimuth >= low) & (azimuth <= high)
    return (azimuth >= low) | (azimuth <= high)
