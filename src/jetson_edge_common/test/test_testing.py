"""The fixture helpers: committed data is always there, large fixtures skip with a reason."""

import pytest

from jetson_edge_common.testing import committed_fixture, fixture_path


def test_committed_fixtures_are_found_in_the_checkout():
    pcap = committed_fixture('lidar/vlp16_mrpt_3rev.pcap')
    assert pcap.stat().st_size == 24 + 225 * (16 + 42 + 1206)  # pcap header + 225 UDP frames
    assert len(list(committed_fixture('images').iterdir())) >= 6


def test_a_missing_committed_fixture_fails_instead_of_skipping():
    with pytest.raises(FileNotFoundError, match='missing from the checkout'):
        committed_fixture('lidar/no_such_capture.pcap')


def test_an_absent_large_fixture_skips_saying_where_it_lives(tmp_path, monkeypatch):
    monkeypatch.setenv('JETSON_EDGE_FIXTURES', str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match='too large to commit.*../shared/fixtures'):
        fixture_path('models/ssd_mobilenet_v2_coco_raw.onnx')
    (tmp_path / 'models').mkdir()
    (tmp_path / 'models' / 'm.onnx').write_bytes(b'onnx')
    assert fixture_path('models/m.onnx') == tmp_path / 'models' / 'm.onnx'
