"""Bad input is counted per reason, logged with a rate limit, skipped; decoding goes on."""

import numpy as np
import pytest

from jetson_edge_lidar.config import DecoderConfig
from jetson_edge_lidar.decoder import VelodyneDecoder
from jetson_edge_lidar.errors import ConfigError
from jetson_edge_lidar.input_stats import InputStats
from jetson_edge_lidar.models import VLP16, VLP32C, ReturnMode
from jetson_edge_sim.lidar.virtual_sensor import SimulatedVelodyne


@pytest.fixture(scope='module')
def good_packets() -> list[bytes]:
    return SimulatedVelodyne(VLP16, start_time_s=1.7e9).next_packets(200)


def _corrupt(packet: bytes, offset: int, value: bytes) -> bytes:
    return packet[:offset] + value + packet[offset + len(value):]


class _Log:
    def __init__(self):
        self.lines = []

    def __call__(self, line):
        self.lines.append(line)


def _decode_with(packets, **config):
    log = _Log()
    clock = [0.0]
    stats = InputStats(log=log, log_period_s=5.0, clock=lambda: clock[0])
    decoder = VelodyneDecoder(DecoderConfig(**config), stats=stats)
    scans = []
    for i, packet in enumerate(packets):
        clock[0] = i * 0.001
        scan = decoder.decode(packet)
        if scan is not None:
            scans.append(scan)
    return decoder, scans + decoder.finish(), log


def test_each_kind_of_garbage_is_counted_and_good_packets_still_decode(good_packets):
    bad = [
        b'',
        b'\x00' * 512,  # a position packet on the wrong port
        good_packets[0] + b'\x00',
        _corrupt(good_packets[1], 100, b'\xff\xdd'),  # HDL-64 lower-block flag
        _corrupt(good_packets[2], 202, (36500).to_bytes(2, 'little')),
        _corrupt(good_packets[3], 1205, b'\x63'),  # VLS-128
        _corrupt(good_packets[4], 1205, b'\x77'),
        _corrupt(good_packets[5], 1204, b'\x20'),
    ]
    mixed = []
    for i, packet in enumerate(good_packets):
        mixed.append(packet)
        if i % 20 == 0:
            mixed.extend(bad)
    decoder, scans, log = _decode_with(mixed)
    drops = decoder.stats.snapshot().drops
    n = len(range(0, 200, 20))
    assert drops == {'wrong_length': 3 * n, 'bad_block_flag': n, 'bad_azimuth': n,
                     'unknown_product': 2 * n, 'unknown_return_mode': n}
    assert decoder.stats.snapshot().packets == 200
    assert sum(len(s) for s in scans) > 50_000
    # One summary line at the first drop, the rest held back by the rate limit.
    assert len(log.lines) == 1 and 'wrong_length' in log.lines[0]
    decoder.stats.flush_log()
    assert len(log.lines) == 2 and 'VLS-128' in log.lines[1]


def test_configured_model_and_mode_reject_other_sensors(good_packets):
    other = SimulatedVelodyne(VLP32C, ReturnMode.DUAL, start_time_s=1.7e9).next_packets(5)
    decoder, _, log = _decode_with(good_packets[:50] + other, model='VLP-16',
                                   return_mode='strongest')
    assert decoder.stats.snapshot().drops == {'model_mismatch': 5}
    decoder.stats.flush_log()
    assert 'set model to "auto"' in log.lines[-1]
    decoder, _, _ = _decode_with(good_packets[:50], return_mode='dual')
    assert decoder.stats.snapshot().drops == {'return_mode_mismatch': 50}


def test_legacy_zero_factory_bytes_are_accepted_for_a_named_model(good_packets):
    legacy = [_corrupt(p, 1204, b'\x00\x00') for p in good_packets[:100]]
    decoder, scans, _ = _decode_with(legacy, model='VLP-16')
    assert decoder.stats.snapshot().dropped == 0 and scans
    decoder, _, _ = _decode_with(legacy)
    assert decoder.stats.snapshot().drops == {'unknown_product': 100}


def test_random_bytes_never_crash_the_decoder():
    rng = np.random.default_rng(7)
    packets = [rng.integers(0, 256, 1206, dtype=np.uint8).tobytes() for _ in range(300)]
    packets += [rng.integers(0, 256, int(n), dtype=np.uint8).tobytes()
                for n in rng.integers(0, 3000, 50)]
    decoder, scans, _ = _decode_with(packets)
    assert decoder.stats.snapshot().dropped == 350
    assert scans == []


def test_a_stopped_motor_is_out_of_sequence_not_a_scan(good_packets):
    frozen = []
    for packet in good_packets * 3:  # 0.8 s of a sensor whose motor stopped
        raw = bytearray(packet)
        for block in range(12):
            raw[100 * block + 2:100 * block + 4] = (1234).to_bytes(2, 'little')
        frozen.append(bytes(raw))
    decoder, scans, log = _decode_with(frozen)
    assert scans == []
    assert decoder.stats.snapshot().drops == {'out_of_sequence': 600}
    assert 'not the rotation of a VLP-16 at rpm 600' in log.lines[0]


@pytest.mark.parametrize('bad', [
    {'cut_angle': 360.0}, {'cut_angle': -0.5}, {'cut_angle': float('nan')},
    {'min_range': 5.0, 'max_range': 1.0}, {'min_azimuth': 10.0, 'max_azimuth': 10.0},
    {'model': 'HDL-64E'}, {'return_mode': 'triple'}, {'stamp_source': 'gps'},
    {'max_azimuth': 400.0}, {'rpm': 200}, {'resync_packets': 1},
    {'model': 'VLP-16', 'max_range': 100.5}, {'model': 'HDL-32E', 'max_range': 120.0},
    {'max_range': 150.0}, {'model': 'VLP-16', 'min_range': 100.0},
])
def test_bad_configuration_is_refused_not_rewritten(bad):
    with pytest.raises(ConfigError) as info:
        DecoderConfig(**bad)
    assert str(info.value)
