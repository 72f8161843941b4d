"""Release version ordering (anti-rollback depends on it)."""

import pytest

from jetson_edge_ota.errors import ConfigError
from jetson_edge_ota.jetson_model import model_from_device_tree
from jetson_edge_ota.version import ReleaseVersion as V


def test_semantic_version_precedence():
    ordered = ['0.9.9', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta.2',
               '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.2.0', '1.10.0', '2.0.0']
    parsed = [V.parse(v) for v in ordered]
    assert sorted(reversed(parsed)) == parsed
    assert [str(v) for v in parsed] == ordered


@pytest.mark.parametrize('bad', ['1.0', '01.0.0', '1.0.0-', 'v1.0.0', '1.0.0+build', ''])
def test_malformed_versions_are_refused(bad):
    with pytest.raises(ConfigError, match='invalid release version'):
        V.parse(bad)


@pytest.mark.parametrize('text,model', [
    ('NVIDIA Jetson Orin Nano Developer Kit\x00', 'orin_nano'),
    ('NVIDIA Jetson AGX Orin Developer Kit', 'agx_orin'),
    ('NVIDIA Jetson Xavier NX Developer Kit', 'xavier_nx'),
    ('NVIDIA Jetson Nano Developer Kit', 'nano'),
    ('Raspberry Pi 4 Model B', 'generic'),
])
def test_jetson_model_from_device_tree(text, model):
    assert model_from_device_tree(text) == model
