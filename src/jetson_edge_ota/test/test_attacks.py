"""Attacks on the repository or the wire, served on loopback: each must be impossible.

Every test starts from a robot on a committed 1.0.0, lets an attacker (or a fault) act
on 1.1.0's way to the robot, and ends with a clear error and the robot still on a
complete, unmixed 1.0.0 with nothing of the bad release on disk.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from conftest import healthy
from ota_testing import (Fault, assert_on_complete_release, attacker_signer, forge_chain,
                         legit_signer, load_top, member, publish_release, raw_bundle)

from jetson_edge_ota.errors import (DowngradeError, DownloadError, ReleaseNotFoundError,
                                    UnsafeBundleError, VerificationError)
from tuf.api.metadata import Metadata

from jetson_edge_ota.fetch import RetryPolicy
from jetson_edge_ota.repository import INDEX_TARGET, RepositoryPolicy, RepositoryWriter


@pytest.fixture
def on_1_0_0(tmp_path, writer, make_robot):
    publish_release(writer, tmp_path, '1.0.0')
    robot = make_robot()
    robot.install(health_check=healthy)
    return robot


def _bundle_url_suffix(writer, version: str) -> str:
    tgt, _, _ = load_top(writer.repo_dir)
    info = tgt.signed.targets[f'jetson-edge/{version}/generic.tar.gz']
    return f'{info.hashes["sha256"]}.generic.tar.gz'


def _assert_untouched(robot, tmp_path: Path) -> None:
    assert_on_complete_release(robot.layout.root, '1.0.0')
    assert not any(p.name.startswith('1.1.0') for p in robot.layout.slots.iterdir())
    assert not list(robot.layout.downloads.glob('*.bundle'))


# -- target bytes -------------------------------------------------------------------------

def test_tampered_target_bytes_are_rejected(tmp_path, writer, server, on_1_0_0):
    publish_release(writer, tmp_path, '1.1.0')
    suffix = _bundle_url_suffix(writer, '1.1.0')
    good = next(writer.targets_dir.rglob(f'*{suffix}')).read_bytes()
    evil = bytearray(good)
    evil[len(evil) // 2] ^= 0x01
    server.faults[suffix] = Fault(body=bytes(evil))
    with pytest.raises(VerificationError, match='do not match the signed length and sha256'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)
    assert not list(on_1_0_0.layout.downloads.glob('*.part'))


def test_target_longer_than_signed_length_is_rejected(tmp_path, writer, server, on_1_0_0):
    publish_release(writer, tmp_path, '1.1.0')
    suffix = _bundle_url_suffix(writer, '1.1.0')
    good = next(writer.targets_dir.rglob(f'*{suffix}')).read_bytes()
    server.faults[suffix] = Fault(body=good + b'\0' * 100)
    with pytest.raises(DownloadError, match='more than the .* bytes the signed metadata allows'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)


def test_target_shorter_than_signed_length_is_rejected(tmp_path, writer, server, on_1_0_0):
    publish_release(writer, tmp_path, '1.1.0')
    suffix = _bundle_url_suffix(writer, '1.1.0')
    good = next(writer.targets_dir.rglob(f'*{suffix}')).read_bytes()
    server.faults[suffix] = Fault(body=good[:-200])
    with pytest.raises(DownloadError, match=r'downloaded \d+ of \d+ bytes'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)


def test_endless_target_response_is_cut_at_signed_length(tmp_path, writer, server, on_1_0_0):
    publish_release(writer, tmp_path, '1.1.0')
    server.faults[_bundle_url_suffix(writer, '1.1.0')] = Fault(endless=True)
    with pytest.raises(DownloadError, match='more than the'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)
    assert not list(on_1_0_0.layout.downloads.glob('*.part'))


def test_endless_metadata_response_is_cut_at_ngclient_limit(tmp_path, writer, server,
                                                            on_1_0_0):
    publish_release(writer, tmp_path, '1.1.0')
    server.faults['/metadata/timestamp.json'] = Fault(endless=True)
    with pytest.raises(DownloadError, match='DownloadLengthMismatchError'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)


def test_bundle_absent_from_signed_targets_is_not_installed(tmp_path, writer, server, on_1_0_0):
    """A file dropped into targets/ but absent from signed metadata is never fetched."""
    publish_release(writer, tmp_path, '1.1.0')

    def drop_bundle(targets) -> None:
        del targets.targets['jetson-edge/1.1.0/generic.tar.gz']
    forge_chain(writer.repo_dir, writer.keys_dir, mutate_targets=drop_bundle)
    with pytest.raises(ReleaseNotFoundError, match='has no jetson-edge/1.1.0/generic.tar.gz'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)


def test_slow_retrieval_stall_is_timed_out_and_resumed(tmp_path, writer, server, make_robot):
    """A server that goes silent mid-body cannot hold the robot: read timeout, then resume."""
    publish_release(writer, tmp_path, '1.0.0', payload_bytes=64 * 1024)
    suffix = _bundle_url_suffix(writer, '1.0.0')
    server.faults[suffix] = Fault(cut_after=10_000, stall_s=3.0, times=1)
    robot = make_robot(retry=RetryPolicy(attempts=3, backoff_s=0.01, read_timeout_s=0.3))
    assert robot.install(health_check=healthy).outcome == 'committed'
    assert [r for _, r in server.bundle_requests()] == [None, 'bytes=10000-']
    assert_on_complete_release(robot.layout.root, '1.0.0')


# -- signatures ---------------------------------------------------------------------------

def test_root_rotation_signed_only_by_attacker_is_rejected(tmp_path, writer, server, on_1_0_0):
    from tuf.api.metadata import Root
    from tuf.api.serialization.json import JSONSerializer
    root = Metadata[Root].from_file(str(writer.metadata_dir / 'root.json'))
    evil = attacker_signer()
    root.signed.version += 1
    for role in ('root', 'targets', 'snapshot', 'timestamp'):
        for keyid in list(root.signed.roles[role].keyids):
            root.signed.revoke_key(keyid, role)
        root.signed.add_key(evil.public_key, role)
    root.sign(evil)
    (writer.metadata_dir / '2.root.json').write_bytes(root.to_bytes(JSONSerializer()))
    with pytest.raises(VerificationError, match='UnsignedMetadataError'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)
    trusted = json.loads((on_1_0_0.layout.metadata_dir / 'root.json').read_text())
    assert trusted['signed']['version'] == 1



def test_targets_signed_by_unknown_key_are_rejected(tmp_path, writer, server, on_1_0_0):
    publish_release(writer, tmp_path, '1.1.0')
    forge_chain(writer.repo_dir, writer.keys_dir, targets_signers=[attacker_signer()])
    with pytest.raises(VerificationError, match='UnsignedMetadataError'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)


def test_targets_without_signatures_are_rejected(tmp_path, writer, server, on_1_0_0):
    publish_release(writer, tmp_path, '1.1.0')
    forge_chain(writer.repo_dir, writer.keys_dir, targets_signers=[])
    with pytest.raises(VerificationError, match='UnsignedMetadataError'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)


def test_corrupted_timestamp_signature_is_rejected(tmp_path, writer, server, on_1_0_0):
    publish_release(writer, tmp_path, '1.1.0')
    path = writer.metadata_dir / 'timestamp.json'
    text = path.read_text()
    start = text.index('"sig": "') + len('"sig": "')
    flipped = '0' if text[start] != '0' else '1'
    path.write_text(text[:start] + flipped + text[start + 1:])
    with pytest.raises(VerificationError, match='UnsignedMetadataError'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)


def test_metadata_content_changed_after_signing_is_rejected(tmp_path, writer, server,
                                                            on_1_0_0):
    """The attacker edits the signed body (a bigger expiry) keeping the old signature."""
    publish_release(writer, tmp_path, '1.1.0')
    path = writer.metadata_dir / 'timestamp.json'
    text = path.read_text()
    year = text[text.index('"expires": "') + 12:][:4]
    path.write_text(text.replace(f'"expires": "{year}', f'"expires": "{int(year) + 50}'))
    with pytest.raises(VerificationError, match='UnsignedMetadataError'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)


@pytest.mark.parametrize('policy', [RepositoryPolicy().with_overrides(
    keys={'targets': 2}, thresholds={'targets': 2})])
def test_targets_below_signature_threshold_are_rejected(tmp_path, writer, server, make_robot):
    publish_release(writer, tmp_path, '1.0.0')
    robot = make_robot()
    robot.install(health_check=healthy)
    publish_release(writer, tmp_path, '1.1.0')
    # One stolen targets key is not enough.
    one_key = legit_signer(writer.repo_dir, writer.keys_dir, 'targets', 0)
    forge_chain(writer.repo_dir, writer.keys_dir, targets_signers=[one_key])
    with pytest.raises(VerificationError, match='UnsignedMetadataError'):
        robot.install(health_check=healthy)
    _assert_untouched(robot, tmp_path)


# -- freshness and version numbers ----------------------------------------------------------

def test_frozen_repository_with_expired_timestamp_is_rejected(tmp_path, writer, server,
                                                              on_1_0_0):
    from datetime import datetime, timedelta, timezone
    publish_release(writer, tmp_path, '1.1.0')
    # The attacker replays a validly signed but long-expired view: a frozen repository.
    stale = RepositoryWriter(writer.repo_dir, writer.keys_dir,
                             now=datetime.now(timezone.utc).replace(microsecond=0)
                             - timedelta(days=3))
    stale.refresh()
    with pytest.raises(VerificationError, match='ExpiredMetadataError|expired'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)


def test_expired_targets_behind_fresh_timestamp_are_rejected(tmp_path, writer, server,
                                                             on_1_0_0):
    from datetime import datetime, timedelta, timezone
    old = RepositoryWriter(writer.repo_dir, writer.keys_dir,
                           now=datetime.now(timezone.utc).replace(microsecond=0)
                           - timedelta(days=120))
    publish_release(old, tmp_path, '1.1.0')
    writer.refresh()          # fresh snapshot and timestamp, targets still 120 days old
    with pytest.raises(VerificationError, match='expired'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)


def test_timestamp_rollback_to_older_version_is_rejected(tmp_path, writer, server, on_1_0_0):
    old_timestamp = (writer.metadata_dir / 'timestamp.json').read_bytes()
    publish_release(writer, tmp_path, '1.1.0')
    on_1_0_0.check()                     # the robot now trusts the newer timestamp
    server.faults['/metadata/timestamp.json'] = Fault(body=old_timestamp)
    with pytest.raises(VerificationError, match='BadVersionNumberError'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)


def test_snapshot_rollback_to_older_version_is_rejected(tmp_path, writer, server, on_1_0_0):
    _, old_snap, _ = load_top(writer.repo_dir)
    publish_release(writer, tmp_path, '1.1.0')
    on_1_0_0.check()
    # A stolen timestamp key signs a new timestamp that points at the old snapshot.
    forge_chain(writer.repo_dir, writer.keys_dir,
                timestamp_snapshot_version=old_snap.signed.version)
    with pytest.raises(VerificationError, match='BadVersionNumberError'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)


def test_targets_rollback_to_older_version_is_rejected(tmp_path, writer, server, on_1_0_0):
    old_targets, _, _ = load_top(writer.repo_dir)
    publish_release(writer, tmp_path, '1.1.0')
    on_1_0_0.check()
    # Stolen snapshot and timestamp keys re-list the old targets metadata.
    forge_chain(writer.repo_dir, writer.keys_dir,
                snapshot_targets_version=old_targets.signed.version)
    with pytest.raises(VerificationError, match='BadVersionNumberError'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)


def test_mixed_metadata_versions_are_rejected(tmp_path, writer, server, on_1_0_0):
    """A half-synced mirror serves the previous targets.json under the new version's name."""
    old_targets, _, _ = load_top(writer.repo_dir)
    old_bytes = (writer.metadata_dir / f'{old_targets.signed.version}.targets.json').read_bytes()
    publish_release(writer, tmp_path, '1.1.0')
    new_targets, _, _ = load_top(writer.repo_dir)
    server.faults[f'/metadata/{new_targets.signed.version}.targets.json'] = Fault(body=old_bytes)
    with pytest.raises(VerificationError, match='LengthOrHashMismatchError|BadVersionNumberError'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)


def test_release_older_than_installed_is_refused_even_when_signed(tmp_path, writer, server,
                                                                  on_1_0_0):
    """Anti-rollback above TUF: a correctly signed index that offers only an older release."""
    publish_release(writer, tmp_path, '0.9.0')
    index = writer.read_index()
    index['releases'] = [r for r in index['releases'] if r['version'] == '0.9.0']

    def only_old(targets) -> None:
        import json
        from tuf.api.metadata import TargetFile
        data = json.dumps(index).encode()
        path = next(writer.targets_dir.rglob('*.index.json')).parent
        info = TargetFile.from_data(INDEX_TARGET, data)
        (path / f'{info.hashes["sha256"]}.index.json').write_bytes(data)
        targets.targets[INDEX_TARGET] = info
    forge_chain(writer.repo_dir, writer.keys_dir, mutate_targets=only_old)
    with pytest.raises(DowngradeError, match='older than the installed 1.0.0'):
        on_1_0_0.install(health_check=healthy)
    assert_on_complete_release(on_1_0_0.layout.root, '1.0.0')


def test_unreachable_repository_leaves_release_untouched(tmp_path, writer, server, on_1_0_0):
    publish_release(writer, tmp_path, '1.1.0')
    server.faults['/metadata/timestamp.json'] = Fault(status=503)
    with pytest.raises(DownloadError, match='503'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)


# -- hostile (but signed) bundles -----------------------------------------------------------

@pytest.mark.parametrize('hostile', [
    member('../escaped.txt'),
    member('/tmp/ota-absolute-escape.txt'),
    member('workspace/link', kind=tarfile.SYMTYPE, linkname='../../escaped.txt'),
    member('workspace/dev', kind=tarfile.CHRTYPE),
], ids=['dotdot', 'absolute', 'symlink-out', 'device'])
def test_signed_bundle_with_escaping_member_is_refused(tmp_path, writer, server, on_1_0_0,
                                                       hostile):
    members = [member('release.json', data=b'{}'), member('workspace/ok', data=b'ok'),
               hostile, member('workspace/after', data=b'after')]
    writer.publish([raw_bundle(tmp_path / 'evil.tar.gz', '1.1.0', members)])
    with pytest.raises(UnsafeBundleError):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)
    assert not (on_1_0_0.layout.root / 'escaped.txt').exists()
    assert not (on_1_0_0.layout.slots / 'escaped.txt').exists()
    assert not Path('/tmp/ota-absolute-escape.txt').exists()
    assert on_1_0_0.layout.load_state().last_result['result'] == 'refused'


def test_signed_bundle_larger_than_its_signed_size_is_refused(tmp_path, writer, server,
                                                              on_1_0_0):
    members = [member('release.json', data=b'{}'), member('workspace/big', data=b'z' * 5000)]
    writer.publish([raw_bundle(tmp_path / 'bomb.tar.gz', '1.1.0', members,
                               extracted_size=1000)])
    with pytest.raises(UnsafeBundleError, match='more than 1000 bytes'):
        on_1_0_0.install(health_check=healthy)
    _assert_untouched(on_1_0_0, tmp_path)
