"""Model tables against the values printed in the Velodyne manuals."""

import numpy as np
import pytest

from jetson_edge_lidar.errors import ConfigError
from jetson_edge_lidar.models import (HDL32E, MODELS, PUCK_HIRES, VLP16, VLP32C, ReturnMode,
                                      model_by_name)


def test_packet_rates_match_the_manuals():
    assert VLP16.packet_rate_hz(ReturnMode.STRONGEST) == pytest.approx(753.5, abs=0.1)
    assert VLP16.packet_rate_hz(ReturnMode.DUAL) == pytest.approx(1507.0, abs=0.1)
    assert VLP32C.packet_rate_hz(ReturnMode.LAST) == pytest.approx(1507.0, abs=0.1)
    assert HDL32E.packet_rate_hz(ReturnMode.STRONGEST) == pytest.approx(1808.4, abs=0.1)


def test_vlp16_firing_times_follow_the_manual_formula():
    times = VLP16.point_time_us(ReturnMode.STRONGEST)
    # 55.296 us per firing sequence, 2.304 us per firing, two sequences per block.
    assert times[0, 0] == 0.0
    assert times[0, 16] == pytest.approx(55.296)
    assert times[11, 31] == pytest.approx(23 * 55.296 + 15 * 2.304)
    dual = VLP16.point_time_us(ReturnMode.DUAL)
    assert np.array_equal(dual[0], dual[1])
    assert dual[2, 0] == pytest.approx(110.592)


def test_vlp32c_fires_lasers_in_pairs_and_hdl32e_stamps_the_last_firing():
    t = VLP32C.point_time_us(ReturnMode.STRONGEST)
    assert t[0, 0] == t[0, 1] == 0.0
    assert t[0, 2] == pytest.approx(2.304)
    h = HDL32E.point_time_us(ReturnMode.STRONGEST)
    assert h[0, 0] == pytest.approx(-542.592)
    assert h[11, 31] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize('model', MODELS, ids=lambda m: m.name)
def test_rings_number_lasers_bottom_up(model):
    ring = model.ring_of_laser
    elevation = np.asarray(model.elevation_deg)
    assert sorted(ring.tolist()) == list(range(model.lasers))
    assert np.all(np.diff(elevation[np.argsort(ring)]) > 0)


def test_specific_manual_values():
    assert VLP16.elevation_deg[0] == -15 and VLP16.ring_of_laser[0] == 0
    assert VLP16.ring_of_laser[15] == 15 and VLP16.ring_of_laser[1] == 8
    assert PUCK_HIRES.elevation_deg[15] == 10.0
    assert VLP32C.azimuth_offset_deg[14] == 4.2 and VLP32C.elevation_deg[29] == 15.0
    assert VLP16.vertical_offset_mm[15] == -11.2


def test_model_names_and_aliases():
    assert model_by_name('vlp16') is VLP16
    assert model_by_name('Puck LITE') is VLP16
    with pytest.raises(ConfigError, match='unknown Velodyne model'):
        model_by_name('HDL-64E')
