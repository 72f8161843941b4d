"""Encode -> decode round trips for every model and return mode (hypothesis).

Random ranges and reflectivities are packed into packets along the rays of a sensor
spinning at a random speed from a random azimuth and time (hour roll-overs included), then
decoded. Every non-zero return must come back once, on the right ring, at its firing time,
with its range within half the range resolution and its azimuth within what the format
allows: block azimuths are rounded to 0.01 deg (0.005 deg error) and the interpolation step
between blocks is a difference of two rounded values (up to 0.01 deg more), so 0.015 deg,
plus what reading the azimuth back from float32 x and y adds (well under 0.0001 deg).
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from jetson_edge_lidar.config import DecoderConfig
from jetson_edge_lidar.decoder import VelodyneDecoder
from jetson_edge_sim.lidar.encoder import FiringSchedule, encode_packets, packets_to_bytes, \
    quantize_range
from jetson_edge_lidar.models import MODELS, ReturnMode

AZIMUTH_TOLERANCE_DEG = 0.015 + 1e-4


def _scenario(model, mode, rpm, start_azimuth, start_time, count, seed):
    rng = np.random.default_rng(seed)
    schedule = FiringSchedule(model, mode, rpm=rpm, start_time_s=start_time,
                              start_azimuth_deg=start_azimuth)
    firings = schedule.window(0, count)
    shape = firings.time_s.shape
    distance = quantize_range(rng.uniform(0.5, model.max_range_m, shape), model)
    distance[rng.random(shape) < 0.2] = 0  # no return
    reflectivity = rng.integers(0, 256, shape, dtype=np.uint8)
    if mode is ReturnMode.DUAL:
        # Where there was only one return the sensor repeats it in the second block.
        single = rng.random((count, 6, 32)) < 0.3
        distance[:, 1::2][single] = distance[:, 0::2][single]
        reflectivity[:, 1::2][single] = reflectivity[:, 0::2][single]
    packets = packets_to_bytes(encode_packets(firings, model, mode, distance_raw=distance,
                                              reflectivity=reflectivity))
    return firings, distance, reflectivity, packets


@pytest.mark.parametrize('mode', list(ReturnMode), ids=lambda m: m.label)
@pytest.mark.parametrize('model', MODELS, ids=lambda m: m.name)
@settings(max_examples=8, deadline=None)
@given(rpm=st.integers(300, 1200), start_azimuth=st.floats(0, 359.99),
       start_time=st.floats(1.7e9, 1.7e9 + 7200), count=st.integers(2, 40),
       cut=st.floats(0, 359.99), seed=st.integers(0, 2**32 - 1))
def test_encode_decode_round_trip(model, mode, rpm, start_azimuth, start_time, count, cut,
                                  seed):
    firings, distance, reflectivity, packets = _scenario(model, mode, rpm, start_azimuth,
                                                         start_time, count, seed)
    decoder = VelodyneDecoder(DecoderConfig(min_range=0.0, cut_angle=cut, rpm=rpm))
    recv = firings.time_s[:, -1, -1]  # each packet "arrives" after its last firing
    scans = decoder.decode_batch(packets, recv_times=recv) + decoder.finish()
    assert decoder.stats.snapshot().dropped == 0

    expected = distance > 0
    if mode is ReturnMode.DUAL:
        repeated = ((distance[:, 1::2] == distance[:, 0::2])
                    & (reflectivity[:, 1::2] == reflectivity[:, 0::2]))
        expected[:, 1::2] &= ~repeated
    want_time = firings.time_s[expected]
    want_ring = model.ring_of_laser[firings.laser[expected]]
    want_range = distance[expected] * model.distance_resolution_m
    want_azimuth = firings.azimuth_deg[expected]
    want_elevation = firings.elevation_deg[expected]
    want_refl = reflectivity[expected]

    got = np.concatenate([s.points for s in scans]) if scans else np.empty(0)
    assert len(got) == expected.sum()
    got_time = np.concatenate([s.device_stamp + s.points['time'].astype(np.float64)
                               for s in scans]) if scans else np.empty(0)
    ring_offset = np.zeros(model.lasers)
    ring_offset[model.ring_of_laser] = np.asarray(model.vertical_offset_mm) * 1e-3
    z = got['z'] - ring_offset[got['ring']]
    horizontal = np.hypot(got['x'], got['y'])
    got_range = np.hypot(horizontal, z)

    order_want = np.lexsort((want_range, want_time, want_ring))
    order_got = np.lexsort((got_range, got_time, got['ring']))
    assert np.array_equal(want_ring[order_want], got['ring'][order_got])
    assert np.abs(want_time[order_want] - got_time[order_got]).max() < 2e-6
    assert np.array_equal(want_refl[order_want], got['intensity'][order_got].astype(np.uint8))
    resolution = model.distance_resolution_m
    assert np.abs(want_range[order_want] - got_range[order_got]).max() <= resolution / 2
    got_azimuth = np.degrees(np.arctan2(-got['y'], got['x'])) % 360
    error = (got_azimuth[order_got] - want_azimuth[order_want] + 180) % 360 - 180
    assert np.abs(error).max() <= AZIMUTH_TOLERANCE_DEG
    got_elevation = np.degrees(np.arctan2(z, horizontal))
    assert np.abs(got_elevation[order_got] - want_elevation[order_want]).max() < 1e-3
    for scan in scans:
        assert scan.points['time'].min() == 0.0
        assert scan.model == model.name and scan.return_mode is mode
