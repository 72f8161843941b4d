"""Release version ordering (anti-rollback depends on it) and bundle model detection."""

import pytest

from jetson_edge_ota.errors import ConfigError
from jetson_edge_ota.jetson_model import detect_jetson_model
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
    (b'NVIDIA Jetson Orin Nano Developer Kit\x00', 'orin_nano'),
    (b'NVIDIA Jetson AGX Orin Developer Kit\x00', 'agx_orin'),
    (b'NVIDIA Jetson Xavier NX Developer Kit\x00', 'xavier_nx'),
    (b'NVIDIA Jetson Nano Developer Kit\x00', 'jetson_nano'),
    (b'Raspberry Pi 4 Model B Rev 1.4\x00', 'generic'),
    (None, 'generic'),
])
def test_bundle_model_follows_the_profile_detected_from_the_device_tree(tmp_path, text, model):
    if text is not None:
        (tmp_path / 'proc' / 'device-tree').mkdir(parents=True)
        (tmp_path / 'proc' / 'device-tree' / 'model').write_bytes(text)
    assert detect_jetson_model(root=tmp_path)[0] == model
