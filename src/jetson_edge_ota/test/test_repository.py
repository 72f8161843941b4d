"""Publishing: policy, thresholds, expiry, reproducible bundles, refusals."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from ota_testing import load_top, make_sources, publish_release

from jetson_edge_ota.bundle import BundleSources, build_bundle, verify_slot
from jetson_edge_ota.errors import ConfigError, PublishError, SigningKeyError
from jetson_edge_ota.extract import extract_bundle
from jetson_edge_ota.repository import RepositoryPolicy, RepositoryWriter, parse_duration


def test_durations_parse_and_reject_garbage():
    assert parse_duration('365d') == timedelta(days=365)
    assert parse_duration('12h') == timedelta(hours=12)
    assert parse_duration('1.5w') == timedelta(weeks=1.5)
    for bad in ('', '10', 'd', '5y', '-1d'):
        with pytest.raises(ConfigError):
            parse_duration(bad)


def test_policy_validates_thresholds():
    with pytest.raises(ConfigError, match='threshold 3'):
        RepositoryPolicy().with_overrides(keys={'root': 2}, thresholds={'root': 3})
    with pytest.raises(ConfigError, match='unknown role'):
        RepositoryPolicy().with_overrides(keys={'mirror': 1})


def test_threshold_and_expiry_land_in_signed_metadata(tmp_path):
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    policy = RepositoryPolicy().with_overrides(keys={'root': 3, 'targets': 2},
                                               thresholds={'root': 2, 'targets': 2},
                                               expiry={'timestamp': '6h', 'targets': '30d'})
    writer = RepositoryWriter(tmp_path / 'repo', tmp_path / 'keys', now=now)
    writer.init(policy)
    root = json.loads((tmp_path / 'repo' / 'metadata' / 'root.json').read_text())
    assert root['signed']['roles']['root']['threshold'] == 2
    assert len(root['signed']['roles']['root']['keyids']) == 3
    assert len(root['signatures']) == 3
    assert root['signed']['consistent_snapshot'] is True
    targets, _, timestamp = load_top(tmp_path / 'repo')
    assert len(targets.signatures) == 2
    assert timestamp.signed.expires == now + timedelta(hours=6)
    assert targets.signed.expires == now + timedelta(days=30)
    assert oct(os.stat(tmp_path / 'keys' / 'root-0.pem').st_mode & 0o777) == '0o600'


def test_publish_needs_threshold_of_keys_and_never_needs_root_keys(tmp_path):
    policy = RepositoryPolicy().with_overrides(keys={'targets': 2}, thresholds={'targets': 2})
    writer = RepositoryWriter(tmp_path / 'repo', tmp_path / 'keys')
    writer.init(policy)
    for pem in (tmp_path / 'keys').glob('root-*.pem'):
        pem.unlink()                                   # root keys live offline
    publish_release(writer, tmp_path, '1.0.0')
    (tmp_path / 'keys' / 'targets-1.pem').unlink()
    with pytest.raises(SigningKeyError, match='needs 2 signature'):
        publish_release(writer, tmp_path, '1.1.0')


def test_republishing_a_version_is_refused(tmp_path, writer):
    publish_release(writer, tmp_path, '1.0.0')
    with pytest.raises(PublishError, match='already published'):
        writer.publish([build_bundle(tmp_path / 'again.tar.gz', version='1.0.0',
                                     jetson_model='generic',
                                     sources=BundleSources(workspace=tmp_path / 'src-1.0.0'
                                                           / 'workspace'))])


def test_refresh_bumps_timestamp_and_keeps_targets(tmp_path, writer):
    publish_release(writer, tmp_path, '1.0.0')
    before = load_top(tmp_path / 'repo')
    writer.refresh()
    after = load_top(tmp_path / 'repo')
    assert after[0].signed.version == before[0].signed.version
    assert after[1].signed.version == before[1].signed.version + 1
    assert after[2].signed.version == before[2].signed.version + 1


def test_bundles_are_reproducible(tmp_path):
    sources = make_sources(tmp_path, '1.0.0')
    a = build_bundle(tmp_path / 'a.tar.gz', version='1.0.0', jetson_model='generic',
                     sources=sources)
    os.utime(sources.workspace / 'bin' / 'jetson-edge', (1, 1))
    b = build_bundle(tmp_path / 'b.tar.gz', version='1.0.0', jetson_model='generic',
                     sources=sources)
    assert a.sha256 == b.sha256 and a.length == b.length


def test_bundle_round_trips_through_the_safe_extractor(tmp_path):
    sources = make_sources(tmp_path, '2.0.0', engines_for=('agx_orin',))
    info = build_bundle(tmp_path / 'b.tar', version='2.0.0', jetson_model='agx_orin',
                        sources=sources, compress=False)
    extract_bundle(info.path, tmp_path / 'slot')
    assert verify_slot(tmp_path / 'slot', hashes=True) == []
    assert (tmp_path / 'slot' / 'engines' / 'detector.engine').is_file()
    manifest = json.loads((tmp_path / 'slot' / 'release.json').read_text())
    assert manifest['jetson_model'] == 'agx_orin' and info.files == len(manifest['files'])


@pytest.mark.parametrize('target', ['/etc/passwd', '../../outside'])
def test_publisher_refuses_links_that_robots_would_refuse(tmp_path, target):
    ws = tmp_path / 'ws'
    ws.mkdir()
    (ws / 'bad').symlink_to(target)
    with pytest.raises(PublishError, match='outside its workspace directory'):
        build_bundle(tmp_path / 'b.tar.gz', version='1.0.0', jetson_model='generic',
                     sources=BundleSources(workspace=ws))


def test_engines_are_required_for_a_model_bundle(tmp_path):
    sources = make_sources(tmp_path, '1.0.0')
    with pytest.raises(PublishError, match='no engines directory'):
        build_bundle(tmp_path / 'b.tar.gz', version='1.0.0', jetson_model='orin_nx',
                     sources=sources)


def test_index_lists_releases_in_version_order(tmp_path, writer):
    for version in ('1.10.0', '1.2.0', '1.9.0-rc.1'):
        publish_release(writer, tmp_path, version)
    assert [r['version'] for r in writer.read_index()['releases']] == \
        ['1.2.0', '1.9.0-rc.1', '1.10.0']
    assert Path(writer.targets_dir / 'jetson-edge' / '1.10.0').is_dir()
