"""Diagnostics from counters: silence, rates, bad input, gaps."""

from jetson_edge_lidar.config import DecoderConfig
from jetson_edge_lidar.decoder import VelodyneDecoder
from jetson_edge_common.diagnostics import Level
from jetson_edge_lidar.health import LidarHealth
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


def _second(clock, stats, *, packets=754, scans=10, bad=0, host_s=1.0, device_s=1.0):
    """``packets`` arrive over ``host_s`` of host time, stamped over ``device_s`` of the
    sensor's clock."""
    for _ in range(packets):
        stats.add_received(1)
    device_now = stats.device_time_s or 1000.0
    stats.add_packets(packets - bad, device_time_s=device_now + device_s)
    if bad:
        stats.drop('wrong_length', '7 bytes', bad)
    for _ in range(scans):
        stats.add_scan(28_000, complete=True)
    clock.now += host_s


def test_no_packets_yet_is_an_error():
    clock, stats, health = _setup()
    status = health.evaluate(stats.snapshot())
    assert status.level is Level.ERROR and 'no packets received yet' in status.message


def test_real_rate_is_ok_and_silence_becomes_an_error_after_a_second():
    clock, stats, health = _setup()
    _second(clock, stats)
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
    _second(clock, stats)
    health.evaluate(stats.snapshot())
    _second(clock, stats, packets=520, scans=7, bad=20)
    stats.add_gap(12)
    stats.last_packet_at = clock.now
    status = health.evaluate(stats.snapshot())
    assert status.level is Level.WARN
    assert 'packet rate 500/s, expected 754/s' in status.message
    assert '7.0 scans/s, expected 10.0 for rpm 600' in status.message
    assert '20 bad datagrams' in status.message and '12 packets lost' in status.message
    assert status.values['dropped_wrong_length'] == '20'


def test_only_garbage_is_an_error():
    clock, stats, health = _setup()
    health.evaluate(stats.snapshot())
    _second(clock, stats, packets=754, scans=0, bad=754)
    stats.last_packet_at = clock.now
    status = health.evaluate(stats.snapshot())
    assert status.level is Level.ERROR and 'unusable' in status.message


def test_rates_are_counted_in_sensor_time_not_arrival_time():
    # a host stall: 0.3 s of packets waited in the socket buffer and arrive with the next
    # second's, so 1.3 s of the sensor's packets land in one second of host time
    clock, stats, health = _setup()
    _second(clock, stats)
    health.evaluate(stats.snapshot())
    _second(clock, stats, packets=980, scans=13, device_s=1.3)
    stats.last_packet_at = clock.now
    status = health.evaluate(stats.snapshot())
    assert status.level is Level.OK, status.message
    assert status.values['datagrams_per_s'] == '980.0'
    assert status.values['packet_rate_hz'] == f'{980 / 1.3:.1f}'


def test_wrong_rpm_is_seen_whatever_the_replay_speed():
    clock, stats, health = _setup()
    _second(clock, stats, host_s=0.1)
    health.evaluate(stats.snapshot())
    _second(clock, stats, scans=15, host_s=0.1)   # a 900 RPM capture replayed fast
    stats.last_packet_at = clock.now
    status = health.evaluate(stats.snapshot())
    assert status.level is Level.WARN
    assert status.message == ('15.0 scans/s, expected 10.0 for rpm 600; set rpm to the '
                              "sensor's motor speed")


def test_a_restarted_sensor_clock_skips_the_rate_checks_once():
    clock, stats, health = _setup()
    _second(clock, stats)
    health.evaluate(stats.snapshot())
    stats.add_received(754)
    stats.add_packets(754, device_time_s=3.0)    # the decoder restarted its time axis
    clock.now += 1.0
    stats.last_packet_at = clock.now
    status = health.evaluate(stats.snapshot())
    assert status.level is Level.OK and 'packet_rate_hz' not in status.values


def test_finished_replay_is_a_warning():
    clock, stats, health = _setup()
    _second(clock, stats, packets=9000, scans=120, host_s=0.1, device_s=12.0)
    health.evaluate(stats.snapshot())
    clock.now += 5
    status = health.evaluate(stats.snapshot(), finished=True)
    assert status.level is Level.WARN and 'finished' in status.message


def test_the_staleness_bound_is_counted_in_rotations():
    clock, stats, health = _setup(stale_after_periods=3)       # 3 x 0.1 s at 600 rpm
    _second(clock, stats)
    stats.add_received(1)                                      # the last packet: now
    clock.now += 0.29
    assert 'no packets for' not in health.evaluate(stats.snapshot()).message
    clock.now += 0.02
    status = health.evaluate(stats.snapshot())
    assert status.level is Level.ERROR
    assert 'stale after 3 rotations = 0.30 s' in status.message
    slow = LidarHealth(source='pcap', rpm=300, stale_after_periods=3)   # 0.2 s a rotation
    stats.add_received(1)
    clock.now += 0.31
    assert 'no packets for' not in slow.evaluate(stats.snapshot()).message
