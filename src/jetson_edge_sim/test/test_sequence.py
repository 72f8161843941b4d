"""The decoder follows the sensor's azimuth sequence: foreign packets are dropped and counted,
real packet loss, restarts and replay loops lose nothing."""

import numpy as np
import pytest

from jetson_edge_lidar.config import DecoderConfig
from jetson_edge_lidar.decoder import VelodyneDecoder
from jetson_edge_common.diagnostics import Level
from jetson_edge_lidar.health import LidarHealth
from jetson_edge_lidar.models import MODELS, VLP16, VLP32C, ReturnMode
from jetson_edge_lidar.packet import PACKET_DTYPE, TIMESTAMP_WRAP_US
from jetson_edge_lidar.sequence import MAX_LOST_PACKETS
from jetson_edge_sim.lidar.encoder import packets_to_bytes
from jetson_edge_sim.lidar.virtual_sensor import SimulatedVelodyne


def _decode(packets, recv_times, **config):
    """Feed packets one at a time, as the node's receive loop does."""
    decoder = VelodyneDecoder(DecoderConfig(stamp_source='device', **config))
    scans = [s for p, t in zip(packets, recv_times)
             if (s := decoder.decode(p, recv_time=t)) is not None]
    return decoder, scans + decoder.finish()


def _assert_same_clouds(got, want):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert len(a) == len(b) and a.complete == b.complete
        assert a.stamp == pytest.approx(b.stamp, abs=1e-6)
        assert np.array_equal(a.points['ring'], b.points['ring'])
        assert np.array_equal(a.points['intensity'], b.points['intensity'])
        for axis in 'xyz':
            assert np.abs(a.points[axis] - b.points[axis]).max() < 1e-4
        assert np.abs(a.points['time'] - b.points['time']).max() < 1e-6


def _foreign(rng, like: bytes, count: int, *, kind: str) -> list[bytes]:
    """Well-formed packets as the red team sent: valid flags and factory bytes of the
    sensor, current timestamps, 131 m ranges, random azimuths (every block random, or a
    random start stepping like a real rotation)."""
    template = np.frombuffer(like, dtype=PACKET_DTYPE)[0]
    packets = np.repeat(template[None], count)
    if kind == 'random blocks':
        azimuth = rng.integers(0, 36000, (count, 12))
    else:
        azimuth = (rng.integers(0, 36000, (count, 1)) + 40 * np.arange(12)) % 36000
    packets['blocks']['azimuth'] = azimuth
    packets['blocks']['returns']['distance'] = int(131 / 0.002)
    packets['blocks']['returns']['reflectivity'] = rng.integers(0, 256, (count, 12, 32))
    stamp = int(template['timestamp']) + rng.integers(-50_000, 50_000, count)
    packets['timestamp'] = stamp % TIMESTAMP_WRAP_US
    return packets_to_bytes(packets)


def _interleave(rng, real, real_times, foreign):
    """Foreign packets at random places between the real ones (real order kept)."""
    slots = np.sort(rng.integers(1, len(real) + 1, len(foreign)))
    packets, times, f = [], [], 0
    for i, (packet, t) in enumerate(zip(real, real_times)):
        while f < len(foreign) and slots[f] == i:
            packets.append(foreign[f])
            times.append(t)
            f += 1
        packets.append(packet)
        times.append(t)
    return packets + foreign[f:], times + [real_times[-1]] * (len(foreign) - f)


@pytest.mark.parametrize('kind', ['random blocks', 'random start'])
@pytest.mark.parametrize('ratio', [0.25, 1.0, 3.0])
def test_foreign_packets_at_random_azimuths_leave_the_fixture_clouds_unchanged(
        fixture_packets, ratio, kind):
    real = [p for _, p in fixture_packets] * 2
    real_times = [1.7e9 + 0.001327 * i for i in range(len(real))]
    clean_decoder, clean = _decode(real, real_times)
    assert clean_decoder.stats.snapshot().dropped == 0
    assert sum(s.complete for s in clean) == 5  # the capture's revolution, six times over

    rng = np.random.default_rng(int(ratio * 100) + len(kind))
    foreign = _foreign(rng, real[0], int(ratio * len(real)), kind=kind)
    packets, times = _interleave(rng, real, real_times, foreign)
    decoder, scans = _decode(packets, times)
    _assert_same_clouds(scans, clean)
    snap = decoder.stats.snapshot()
    assert snap.drops == {'out_of_sequence': len(foreign)}
    assert snap.packets == len(real)


@pytest.mark.parametrize('mode', list(ReturnMode), ids=lambda m: m.label)
@pytest.mark.parametrize('model', MODELS, ids=lambda m: m.name)
def test_every_model_and_mode_drops_foreign_packets(model, mode):
    sensor = SimulatedVelodyne(model, mode, rpm=900, start_time_s=1.7e9 + 11.0)
    count = int(model.packet_rate_hz(mode) * 0.35)
    real = sensor.next_packets(count)
    real_times = [1.7e9 + 11.0 + i * sensor.packet_period_s for i in range(count)]
    _, clean = _decode(real, real_times, rpm=900)
    rng = np.random.default_rng(5)
    foreign = _foreign(rng, real[0], count, kind='random blocks')
    packets, times = _interleave(rng, real, real_times, foreign)
    decoder, scans = _decode(packets, times, rpm=900)
    _assert_same_clouds(scans, clean)
    assert decoder.stats.snapshot().drops == {'out_of_sequence': count}


def _stream(seconds=2.0, **sensor):
    sensor = SimulatedVelodyne(VLP16, start_time_s=1.7e9, **sensor)
    count = int(754 * seconds)
    firings = sensor.firings(count)
    return sensor.next_packets(count), list(firings.time_s[:, -1, -1] + 2e-4)


def test_lost_packets_drop_nothing_good_and_cut_no_scan():
    packets, times = _stream()
    _, clean = _decode(packets, times)
    rng = np.random.default_rng(3)
    lost = set(rng.choice(len(packets), 60, replace=False).tolist())  # single losses
    for start in (300, 700, 1100):  # bursts up to the longest gap bridged directly
        lost.update(range(start, start + MAX_LOST_PACKETS))
    lost.update(range(900, 930))  # 40 ms: re-anchors, the held packets come late, not lost
    kept = [i for i in range(len(packets)) if i not in lost]
    decoder, scans = _decode([packets[i] for i in kept], [times[i] for i in kept])
    snap = decoder.stats.snapshot()
    assert snap.dropped == 0 and snap.packets == len(kept)
    assert snap.resyncs == 2  # start-up and the 30-packet burst
    assert snap.missing_packets == len(lost)
    # Same scans, each missing only the lost packets' points.
    assert [s.complete for s in scans] == [s.complete for s in clean]
    assert all(len(s) <= len(c) for s, c in zip(scans, clean))
    assert sum(map(len, scans)) > 0.9 * sum(map(len, clean))


def test_a_sensor_restart_re_anchors_without_losing_packets():
    before, before_times = _stream(1.0)
    restarted = SimulatedVelodyne(VLP16, start_time_s=1.7e9 + 30.0, start_azimuth_deg=137.0)
    after = restarted.next_packets(754)
    after_times = [1.7e9 + 30.0 + i * restarted.packet_period_s for i in range(754)]
    decoder, scans = _decode(before + after, before_times + after_times)
    snap = decoder.stats.snapshot()
    assert snap.dropped == 0 and snap.packets == 2 * 754
    assert snap.resyncs == 2
    # Nine complete turns after the restart's first cut, as before it.
    assert sum(s.complete for s in scans) == 18


def test_a_second_sensor_on_the_same_port_is_dropped_not_followed():
    packets, times = _stream(1.0)
    _, clean = _decode(packets, times)
    other = SimulatedVelodyne(VLP16, start_time_s=1.7e9 + 0.0004,
                              start_azimuth_deg=90.0).next_packets(len(packets))
    mixed, mixed_times = [], []
    for mine, theirs, t in zip(packets, other, times):
        mixed += [mine, theirs]
        mixed_times += [t, t]
    decoder, scans = _decode(mixed, mixed_times)
    _assert_same_clouds(scans, clean)
    assert decoder.stats.snapshot().drops == {'out_of_sequence': len(other)}


def test_a_wrong_rpm_drops_everything_and_says_so():
    packets, times = _stream(1.0, rpm=1200)
    decoder, scans = _decode(packets, times, rpm=600)
    snap = decoder.stats.snapshot()
    assert scans == [] and snap.drops == {'out_of_sequence': len(packets)}
    health = LidarHealth(source='UDP', rpm=600)
    health.evaluate(decoder.stats.snapshot())
    decoder.stats.add_received(10)
    decoder.stats.drop('out_of_sequence', 'x', 10)
    status = health.evaluate(decoder.stats.snapshot())
    assert status.level is Level.ERROR
    assert "check that rpm (600) is the sensor's motor speed" in status.message


def test_max_range_defaults_to_the_rated_range_of_the_detected_model():
    for model, rated in ((VLP16, 100.0), (VLP32C, 200.0)):
        sensor = SimulatedVelodyne(model, start_time_s=1.7e9)
        packets = np.frombuffer(b''.join(sensor.next_packets(300)), dtype=PACKET_DTYPE).copy()
        # Returns at 1.05x the rated range (still encodable) and just inside it.
        resolution = model.distance_resolution_m
        distance = packets['blocks']['returns']['distance']
        distance[:, :, ::2] = int(rated * 1.05 / resolution)
        distance[:, :, 1::2] = int(rated * 0.99 / resolution)
        decoder = VelodyneDecoder(DecoderConfig())
        scans = decoder.decode_batch(packets_to_bytes(packets)) + decoder.finish()
        points = np.concatenate([s.points for s in scans])
        reach = np.hypot(np.hypot(points['x'], points['y']), points['z'])
        assert len(points) == 300 * 12 * 16 and reach.max() < rated
    assert DecoderConfig(model='VLP-32C', max_range=150.0).range_limit_m(VLP32C) == 150.0
