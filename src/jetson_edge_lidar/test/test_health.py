"""Diagnostics from counters: silence, rates, bad input, gaps."""

from jetson_edge_lidar.config import DecoderConfig
from jetson_edge_lidar.decoder import VelodyneDecoder
from jetson_edge_lidar.health import Level, LidarHealth
from jetson_edge_lidar.input_stats import InputStats
from jetson_edge_lidar.models import VLP16, ReturnMode


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _setup(**kwargs):
    clock = Clock()
    stats = InputStats(clock=clock, log=lambda line: None)
    health = LidarHealth(source='UDP 0.0.0.0:2368', rpm=600, model=VLP16,
                         return_mode=ReturnMode.STRONGEST, **kwargs)
    return clock, stats, health


def _second(clock, stats, *, packets=754, scans=10, bad=0):
    for _ in range(packets):
        stats.add_received(1)
    stats.add_packets(packets - bad)
    if bad:
        stats.drop('wrong_length', '7 bytes', bad)
    for _ in range(scans):
        stats.add_scan(28_000, complete=True)
    clock.now += 1.0


def test_no_packets_yet_is_an_error():
    clock, stats, health = _setup()
    status = health.evaluate(stats.snapshot())
    assert status.level is Level.ERROR and 'no packets received yet' in status.message


def test_real_rate_is_ok_and_silence_becomes_an_error_after_a_second():
    clock, stats, health = _setup()
    health.evaluate(stats.snapshot())
    _second(clock, stats)
    clock.now -= 0.01  # the last packet arrived just now
    stats.add_received(1)
    clock.now += 0.01
    status = health.evaluate(stats.snapshot())
    assert status.level is Level.OK, status.message
    assert float(status.values['packet_rate_hz']) > 700
    clock.now += 1.5
    status = health.evaluate(stats.snapshot())
    assert status.level is Level.ERROR and 'no packets for 1.5 s' in status.message


def test_empty_polls_of_a_silent_socket_do_not_hide_the_silence():
    # the receive loop hands the decoder every poll's batch, empty ones included
    clock, stats, health = _setup()
    decoder = VelodyneDecoder(DecoderConfig(model='VLP-16'), stats=stats, clock=clock)
    decoder.decode_batch([])
    status = health.evaluate(stats.snapshot())
    assert status.level is Level.ERROR and 'no packets received yet' in status.message
    _second(clock, stats)      # a second of packets, the last one a second ago
    for _ in range(15):
        clock.now += 0.1
        decoder.decode_batch([])
    status = health.evaluate(stats.snapshot())
    assert status.level is Level.ERROR and 'no packets for 2.5 s' in status.message
    assert status.values['seconds_since_last_packet'] == '2.500'


def test_low_rate_bad_input_and_gaps_warn():
    clock, stats, health = _setup()
    health.evaluate(stats.snapshot())
    stats.add_received(1)
    _second(clock, stats, packets=500, scans=7, bad=20)
    stats.add_gap(12)
    stats.last_packet_at = clock.now
    status = health.evaluate(stats.snapshot())
    assert status.level is Level.WARN
    assert 'packet rate 501/s, expected 754/s' in status.message
    assert '20 bad datagrams' in status.message and '12 packets lost' in status.message
    assert status.values['dropped_wrong_length'] == '20'


def test_only_garbage_is_an_error():
    clock, stats, health = _setup()
    health.evaluate(stats.snapshot())
    _second(clock, stats, packets=754, scans=0, bad=754)
    stats.last_packet_at = clock.now
    status = health.evaluate(stats.snapshot())
    assert status.level is Level.ERROR and 'unusable' in status.message


def test_finished_replay_is_a_warning_and_fast_replay_skips_rate_checks():
    clock, stats, health = _setup(rate_scale=None)
    health.evaluate(stats.snapshot())
    _second(clock, stats, packets=9000, scans=120)
    stats.last_packet_at = clock.now
    assert health.evaluate(stats.snapshot()).level is Level.OK
    clock.now += 5
    status = health.evaluate(stats.snapshot(), finished=True)
    assert status.level is Level.WARN and 'finished' in status.message
