"""Decoding a real VLP-16 capture (the fixture) and comparing with velodyne-decoder."""

import math

import numpy as np
import pytest

from jetson_edge_lidar.config import DecoderConfig
from jetson_edge_lidar.decoder import VelodyneDecoder
from jetson_edge_lidar.models import VLP16, ReturnMode
from jetson_edge_lidar.packet import as_packet_array


def _decode(packets, **config):
    decoder = VelodyneDecoder(DecoderConfig(**config))
    scans = decoder.decode_batch([p for _, p in packets], recv_times=[t for t, _ in packets])
    return decoder, scans + decoder.finish()


def test_fixture_revolutions_match_the_readme(fixture_packets):
    # 75 packets per revolution; feed one revolution and finish: exactly one rotation's data.
    decoder, scans = _decode(fixture_packets[:75], cut_angle=0.0)
    points = np.concatenate([s.points for s in scans])
    assert 22_400 <= len(points) <= 22_800
    assert np.unique(points['ring']).tolist() == list(range(16))
    ranges = np.sqrt(points['x'] ** 2 + points['y'] ** 2 + points['z'] ** 2)
    assert ranges.min() == pytest.approx(2.4, abs=0.05)
    # The capture holds returns up to 108.4 m; the default keeps the VLP-16's rated 100 m.
    assert 96.0 < ranges.max() <= 100.0 + 1e-3
    assert decoder.model.name == 'VLP-16' and decoder.return_mode is ReturnMode.STRONGEST
    assert decoder.stats.snapshot().dropped == 0


def test_three_revolutions_cut_at_zero_give_full_scans(fixture_packets):
    decoder = VelodyneDecoder(DecoderConfig(cut_angle=0.0))
    scans = [s for _, p in fixture_packets if (s := decoder.decode(p)) is not None]
    scans += decoder.finish()
    full = [s for s in scans if len(s) > 20_000]
    assert len(full) == 3
    for scan in full:
        t = scan.points['time']
        assert t.min() == 0.0
        assert 0.095 < t.max() < 0.1  # one revolution at 600 RPM
        assert scan.packets in (75, 76)
    # The capture repeats the same revolution, so its timestamps jump back twice.
    assert decoder.stats.snapshot().clock_jumps == 2


@pytest.mark.parametrize('cut', [0.0, 90.0, 200.0, 359.99])
def test_scans_begin_and_end_at_the_cut_angle(fixture_packets, cut):
    _, scans = _decode(fixture_packets, cut_angle=cut)
    inner = scans[1:-1]
    assert inner and all(s.complete for s in inner)
    for scan in inner:
        azimuth = np.degrees(np.arctan2(-scan.points['y'], scan.points['x'])) % 360
        relative = (azimuth - cut) % 360
        first = relative[np.argmin(scan.points['time'])]
        last = relative[np.argmax(scan.points['time'])]
        assert first < 1.0 and last > 359.0


def test_same_points_as_velodyne_decoder(fixture_pcap, fixture_packets):
    vd = pytest.importorskip('velodyne_decoder')
    theirs = next(iter(vd.read_pcap(str(fixture_pcap), vd.Config(model=vd.Model.VLP16,
                                                                   cut_angle=0.0),
                                    as_pcl_structs=True))).points
    # Theirs keeps returns past the VLP-16's rated 100 m, ours stops there.
    theirs = theirs[np.sqrt(theirs['x'] ** 2 + theirs['y'] ** 2 + theirs['z'] ** 2) <= 100.0]
    _, scans = _decode(fixture_packets[:75], cut_angle=0.0, min_range=0.1)
    ours = np.concatenate([s.points for s in scans])
    assert len(ours) == len(theirs)

    def ordered(points):
        azimuth = np.degrees(np.arctan2(-points['y'], points['x'])) % 360
        return points[np.lexsort((azimuth, points['ring']))]

    a, b = ordered(ours), ordered(theirs)
    assert np.array_equal(a['ring'], b['ring'])
    assert np.array_equal(a['intensity'], b['intensity'])
    # velodyne-decoder rounds interpolated azimuths to 0.01 deg; we keep them exact, so
    # points differ by up to ~0.02 deg of arc (1.6 cm at 108 m), heights by float noise.
    horizontal = np.hypot(a['x'] - b['x'], a['y'] - b['y'])
    reach = np.hypot(a['x'], a['y'])
    assert np.all(horizontal <= reach * np.radians(0.025) + 1e-4)
    assert np.abs(a['z'] - b['z']).max() < 1e-3


def test_device_and_host_stamps(fixture_packets):
    host_times = [1_700_000_000.0 + 0.001327 * i for i in range(75)]
    packets = [p for _, p in fixture_packets[:75]]
    device = VelodyneDecoder(DecoderConfig(stamp_source='device'))
    scan = (device.decode_batch(packets, recv_times=host_times) + device.finish())[0]
    # Packet timestamps are microseconds past the hour: the stamp keeps the host's hour.
    first_us = int.from_bytes(packets[0][1200:1204], 'little')
    hour = 1_700_000_000.0 - 1_700_000_000.0 % 3600
    expected = hour + first_us * 1e-6
    if expected - host_times[0] > 1800:
        expected -= 3600
    assert scan.stamp == pytest.approx(expected, abs=1e-3)
    assert scan.device_stamp == scan.stamp
    host = VelodyneDecoder(DecoderConfig(stamp_source='host'))
    scan = (host.decode_batch(packets, recv_times=host_times) + host.finish())[0]
    # First point fired about one packet before the packet carrying it arrived.
    assert host_times[0] - 0.0014 < scan.stamp < host_times[0]


def test_exactly_the_returns_within_the_range_limits_are_kept(fixture_packets):
    raw = as_packet_array([p for _, p in fixture_packets[:75]])['blocks']['returns']['distance']
    # Limits half a raw step (1 mm) beside raw distances that occur next to their
    # neighbours, so an off-by-one at either end changes the count; 0 means no return.
    values = np.unique(raw[raw > 0])
    pairs = values[:-1][np.diff(values) == 1]
    low, high = int(pairs[len(pairs) // 4]) + 1, int(pairs[3 * len(pairs) // 4])
    resolution = VLP16.distance_resolution_m
    for min_range, max_range, kept in (
            ((low - 0.5) * resolution, (high + 0.5) * resolution, (raw >= low) & (raw <= high)),
            (0.0, (high + 0.5) * resolution, (raw >= 1) & (raw <= high))):
        _, scans = _decode(fixture_packets[:75], cut_angle=0.0, min_range=min_range,
                           max_range=max_range)
        assert sum(len(s) for s in scans) == int(kept.sum())
