"""Scan cutting, crops, stamps and hour roll-over, on virtual-sensor packets."""

import numpy as np
import pytest

from jetson_edge_lidar.config import DecoderConfig
from jetson_edge_lidar.decoder import VelodyneDecoder
from jetson_edge_lidar.models import HDL32E, VLP16, ReturnMode
from jetson_edge_lidar.scan import join_top_of_hour
from jetson_edge_sim.lidar.virtual_sensor import SimulatedVelodyne


def test_join_top_of_hour_handles_roll_over():
    hour = 1_700_002_800.0  # a multiple of 3600
    assert hour % 3600 == 0
    assert join_top_of_hour(1_000_000, hour + 1.2) == pytest.approx(hour + 1.0)
    # Packet from 59:59.9 arriving after the host's clock passed the hour.
    assert join_top_of_hour(3_599_900_000, hour + 0.05) == pytest.approx(hour - 0.1)
    # Packet from 00:00.05 while the host still reads 59:59.99.
    assert join_top_of_hour(50_000, hour - 0.01) == pytest.approx(hour + 0.05)


def _scans(sensor, count, **config):
    firings = sensor.firings(count)
    packets = sensor.next_packets(count)
    decoder = VelodyneDecoder(DecoderConfig(**config))
    recv = firings.time_s[:, -1, -1] + 0.0002
    return decoder, decoder.decode_batch(packets, recv_times=recv) + decoder.finish()


def test_scan_rate_follows_rpm_and_stamps_cross_the_hour():
    start = 1_700_002_800.0 - 0.25  # a quarter second before the hour
    sensor = SimulatedVelodyne(VLP16, rpm=600, start_time_s=start, start_azimuth_deg=0.0)
    decoder, scans = _scans(sensor, 754, cut_angle=0.0, stamp_source='device')  # one second
    complete = [s for s in scans if s.complete]
    assert len(complete) == 9
    stamps = np.array([s.stamp for s in complete])
    assert np.allclose(np.diff(stamps), 0.1, atol=2e-4)
    assert stamps[0] == pytest.approx(start + 0.1, abs=2e-4)
    assert all(s.device_stamp == pytest.approx(s.host_stamp, abs=1e-3) for s in complete)
    assert decoder.stats.snapshot().gaps == 0 and decoder.stats.snapshot().clock_jumps == 0
    for scan in complete:
        assert 0.0995 < scan.points['time'].max() < 0.1


def test_hdl32e_stamps_account_for_the_end_of_packet_timestamp():
    start = 1_700_000_000.0
    sensor = SimulatedVelodyne(HDL32E, rpm=600, start_time_s=start, start_azimuth_deg=0.0)
    _, scans = _scans(sensor, 400, cut_angle=0.0, stamp_source='device')
    assert scans[1].complete
    assert scans[1].stamp == pytest.approx(start + 0.1, abs=1e-4)


@pytest.mark.parametrize('window', [(90.0, 270.0), (300.0, 60.0)])
def test_azimuth_crop_keeps_only_the_window(window):
    sensor = SimulatedVelodyne(VLP16, start_time_s=1.7e9)
    _, scans = _scans(sensor, 200, min_azimuth=window[0], max_azimuth=window[1])
    points = np.concatenate([s.points for s in scans])
    azimuth = np.degrees(np.arctan2(-points['y'], points['x'])) % 360
    low, high = window
    inside = (azimuth >= low - 1e-3) & (azimuth <= high + 1e-3) if low < high else \
        (azimuth >= low - 1e-3) | (azimuth <= high + 1e-3)
    assert inside.all()
    assert np.ptp(azimuth) > 100


def test_range_limits():
    sensor = SimulatedVelodyne(VLP16, start_time_s=1.7e9)
    _, scans = _scans(sensor, 200, min_range=2.0, max_range=4.0)
    points = np.concatenate([s.points for s in scans])
    z = points['z'] - np.asarray(VLP16.vertical_offset_mm)[np.argsort(VLP16.ring_of_laser)][
        points['ring']] * 1e-3
    ranges = np.sqrt(points['x'] ** 2 + points['y'] ** 2 + z ** 2)
    assert ranges.min() >= 2.0 - 1e-3 and ranges.max() <= 4.0 + 1e-3


def test_lost_packets_are_counted_as_gaps_and_long_pauses_end_the_scan():
    sensor = SimulatedVelodyne(VLP16, start_time_s=1.7e9)
    packets = sensor.next_packets(100)
    sensor.skip(5)
    packets += sensor.next_packets(100)
    sensor.skip(300)  # 0.4 s of silence
    packets += sensor.next_packets(100)
    decoder = VelodyneDecoder()
    scans = decoder.decode_batch(packets) + decoder.finish()
    snap = decoder.stats.snapshot()
    assert snap.gaps == 2 and snap.missing_packets == 305
    assert sum(not s.complete for s in scans) >= 3  # start, before the pause, end


def test_dual_returns_carry_the_glass_and_the_wall_behind_it():
    sensor = SimulatedVelodyne(VLP16, ReturnMode.DUAL, start_time_s=1.7e9)
    _, dual = _scans(sensor, 160)
    sensor = SimulatedVelodyne(VLP16, ReturnMode.STRONGEST, start_time_s=1.7e9)
    _, single = _scans(sensor, 80)
    # One full rotation each (both start at the cut angle): the glass adds second returns.
    assert len(dual[0]) > len(single[0]) * 1.05
    assert dual[0].return_mode is ReturnMode.DUAL


def test_decoder_defaults_are_the_nodes_parameter_defaults():
    from jetson_edge_lidar.params import VELODYNE_NODE
    schema = {s.name: s.default for s in VELODYNE_NODE}
    defaults = DecoderConfig()
    assert defaults.stamp_source == schema['stamp_source'] == 'host'
    assert (defaults.min_range, defaults.cut_angle, defaults.rpm, defaults.resync_packets) == (
        schema['min_range'], schema['cut_angle'], schema['rpm'], schema['resync_packets'])
    assert defaults.max_range is None and schema['max_range'] == 0.0  # both: the rated range


def _assert_same_scans(a, b):
    """The same scans, points and stamps. Azimuths and point times are float32 relative to
    the first packet decoded together, so another grouping rounds them differently: x, y
    and time agree to float32 rounding (well under a millimetre), the rest exactly, except
    the packet count, which counts a packet split between two decoded groups twice."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert (x.stamp, x.device_stamp, x.host_stamp, x.complete, len(x)) == \
            (y.stamp, y.device_stamp, y.host_stamp, y.complete, len(y))
        assert abs(x.packets - y.packets) <= 1
        for field in ('z', 'intensity', 'ring'):
            assert np.array_equal(x.points[field], y.points[field]), field
        assert np.abs(x.points['x'] - y.points['x']).max() < 1e-4
        assert np.abs(x.points['y'] - y.points['y']).max() < 1e-4
        assert np.abs(x.points['time'] - y.points['time']).max() < 1e-7


def _decode_in_chunks(packets, recv_times, chunks, **config):
    """Chunks of 1 go through decode() (the live per-packet path), others decode_batch()."""
    decoder = VelodyneDecoder(DecoderConfig(**config))
    scans, start = [], 0
    for size in chunks:
        if size == 1:
            scan = decoder.decode(packets[start], recv_time=recv_times[start])
            scans += [] if scan is None else [scan]
        else:
            scans += decoder.decode_batch(packets[start:start + size],
                                          recv_times=recv_times[start:start + size])
        start += size
    assert start == len(packets)
    return scans + decoder.finish(), decoder.stats.snapshot()


@pytest.mark.parametrize('cut', [0.0, 123.45])
def test_fixture_batches_decode_like_single_packets(fixture_packets, cut):
    packets = [p for _, p in fixture_packets]
    recv = [t for t, _ in fixture_packets]
    single, single_stats = _decode_in_chunks(packets, recv, [1] * len(packets), cut_angle=cut)
    assert len(single) >= 3
    # Batches under 64 packets take the per-packet cut check, larger ones vectorized slices.
    for chunks in ([7] * 32 + [1], [100, 1, 124], [len(packets)]):
        batched, stats = _decode_in_chunks(packets, recv, chunks, cut_angle=cut)
        _assert_same_scans(batched, single)
        assert (stats.packets, stats.scans, stats.points, stats.clock_jumps) == \
            (single_stats.packets, single_stats.scans, single_stats.points,
             single_stats.clock_jumps)


@pytest.mark.parametrize('model', [VLP16, HDL32E])
def test_dual_return_batches_decode_like_single_packets(model):
    sensor = SimulatedVelodyne(model, ReturnMode.DUAL, start_time_s=1.7e9,
                               start_azimuth_deg=350.0)
    count = int(3 * model.packet_rate_hz(ReturnMode.DUAL) / 10)  # three rotations
    recv = (sensor.firings(count).time_s[:, -1, -1] + 0.0002).tolist()
    packets = sensor.next_packets(count)
    single, _ = _decode_in_chunks(packets, recv, [1] * count, cut_angle=0.0)
    assert len(single) >= 3 and single[1].complete
    for size in (5, 96, count):
        chunks = [size] * (count // size) + ([count % size] if count % size else [])
        batched, _ = _decode_in_chunks(packets, recv, chunks, cut_angle=0.0)
        _assert_same_scans(batched, single)


@pytest.mark.parametrize('model, mode, cut', [(VLP16, ReturnMode.STRONGEST, 0.0),
                                              (HDL32E, ReturnMode.DUAL, 123.4)])
def test_next_cut_time_predicts_the_packet_that_completes_the_scan(model, mode, cut):
    sensor = SimulatedVelodyne(model, mode, rpm=600, start_time_s=1.7e9, start_azimuth_deg=10.0)
    count = int(0.35 * model.packet_rate_hz(mode))  # three and a half rotations
    firings = sensor.firings(count)
    packets = sensor.next_packets(count)
    recv = firings.time_s[:, -1, -1] + 0.0002
    decoder = VelodyneDecoder(DecoderConfig(cut_angle=cut))
    assert decoder.next_cut_time() is None
    predictions = []  # made all through the rotation, the first right after the last cut
    checked = 0
    for i, (packet, time_s) in enumerate(zip(packets, recv)):
        completed = decoder.decode_batch([packet], recv_times=[time_s])
        if completed:
            if completed[-1].complete:
                # The rotation reaches the cut at the predicted time; the packet holding
                # that firing arrives within one packet period after it.
                for predicted in predictions:
                    assert predicted <= time_s <= predicted + sensor.packet_period_s + 3e-4
                checked += len(predictions)
            predictions = []
        if i % 7 == 0 or completed:
            predictions.append(decoder.next_cut_time())
    assert checked >= 20
