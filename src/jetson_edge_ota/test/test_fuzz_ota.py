"""Fuzzing what a robot parses of a release: bundle archives (members and release.json), the
release index, and the server's Content-Range answer.

Contracts: ``extract_bundle`` and ``verify_slot`` write nothing outside the slot and raise only
:class:`UnsafeBundleError`; the index is read or refused with :class:`VerificationError` or
:class:`ReleaseNotFoundError`; a resumed download's offset is read or refused with
:class:`DownloadError`.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

from tuf.api.metadata import TargetFile

from jetson_edge_common.fuzzing import assert_no_crash, replay
from jetson_edge_ota.bundle import BundleSources, build_bundle, verify_slot
from jetson_edge_ota.client import ReleaseClient
from jetson_edge_ota.errors import (DownloadError, ReleaseNotFoundError, UnsafeBundleError,
                                    VerificationError)
from jetson_edge_ota.extract import ExtractLimits, extract_bundle
from jetson_edge_ota.fetch import _resumed_offset
from jetson_edge_ota.repository import INDEX_TARGET

INSTRUMENT = ['jetson_edge_ota']
_LIMITS = ExtractLimits(max_member_bytes=1 << 20, max_total_bytes=4 << 20, max_members=200)
_SCRATCH: Path | None = None


def _scratch() -> Path:
    global _SCRATCH
    if _SCRATCH is None:
        _SCRATCH = Path(tempfile.mkdtemp(prefix='jetson_edge_fuzz_ota_'))
        atexit.register(shutil.rmtree, _SCRATCH, True)
    return _SCRATCH


def bundle_archive(data: bytes) -> None:
    """Extract ``data`` as a bundle into a fresh slot, then check the slot against its manifest."""
    base = _scratch()
    archive, slot = base / 'bundle', base / 'slots' / 'slot'
    archive.write_bytes(data)
    shutil.rmtree(base / 'slots', ignore_errors=True)
    (base / 'slots').mkdir()
    try:
        extract_bundle(archive, slot, limits=_LIMITS)
        problems = verify_slot(slot, hashes=True)
        assert all(isinstance(p, str) for p in problems)
    except UnsafeBundleError:
        pass
    # Whatever happened, nothing exists beside the slot, and no link inside leads out of it.
    assert sorted(p.name for p in (base / 'slots').iterdir()) == ['slot']
    for directory, dirs, files in os.walk(slot):
        for name in dirs + files:
            path = Path(directory) / name
            if path.is_symlink():
                assert os.path.realpath(path).startswith(str(slot.resolve()) + os.sep), path


class _FakeUpdater:
    """The two ngclient calls the client makes after verification, over fixed metadata."""

    def __init__(self, index: bytes, directory: Path) -> None:
        self._index, self._directory = index, directory
        custom = {'version': '1.2.0', 'jetson_model': 'generic', 'extracted_size': 4096}
        self.targets = {
            INDEX_TARGET: TargetFile(len(index), {'sha256': '0' * 64}, INDEX_TARGET),
            'jetson-edge/1.2.0/generic.tar.gz': TargetFile(
                10, {'sha256': '1' * 64}, 'jetson-edge/1.2.0/generic.tar.gz',
                unrecognized_fields={'custom': custom}),
        }

    def get_targetinfo(self, path):
        return self.targets.get(path)

    def download_target(self, info, filepath):
        Path(filepath).write_bytes(self._index)
        return filepath


def release_index(data: bytes) -> None:
    base = _scratch()
    (base / 'metadata').mkdir(exist_ok=True)
    (base / 'metadata' / 'root.json').write_text('{}')
    client = ReleaseClient(base / 'metadata', 'http://127.0.0.1:9', base / 'cache')
    (base / 'cache').mkdir(exist_ok=True)
    client._updater = _FakeUpdater(data, base / 'cache')
    try:
        releases = client.releases()
        assert isinstance(releases, list)
        release = client.select('orin_nano')
        assert release.extracted_size == 4096
    except (VerificationError, ReleaseNotFoundError):
        pass


def content_range(data: bytes) -> None:
    """Byte 0 picks the status, 1-4 the requested offset, the rest is the header."""
    if len(data) < 5:
        return
    status = (200, 206, 206, 416)[data[0] % 4]
    offset = int.from_bytes(data[1:5], 'little')
    response = SimpleNamespace(status=status,
                               headers={'Content-Range': data[5:].decode('latin-1')})
    try:
        assert _resumed_offset(response, offset) in (0, offset)
    except DownloadError:
        pass


def bundle_seeds(tmp_path: Path) -> list[bytes]:
    workspace = tmp_path / 'workspace'
    (workspace / 'lib' / 'pkg').mkdir(parents=True)
    (workspace / 'lib' / 'pkg' / 'node.py').write_text('print("hello")\n')
    (workspace / 'setup.bash').write_text('export X=1\n')
    (workspace / 'lib' / 'current').symlink_to('pkg')
    seeds = []
    for compress in (False, True):
        info = build_bundle(tmp_path / f'bundle-{compress}.tar', version='1.2.0',
                            jetson_model='generic', sources=BundleSources(workspace=workspace),
                            compress=compress)
        seeds.append(info.path.read_bytes())
    return seeds


def index_seeds() -> list[bytes]:
    entry = {'version': '1.2.0', 'created': '2026-12-01T00:00:00+00:00', 'notes': '',
             'bundles': {'generic': 'jetson-edge/1.2.0/generic.tar.gz'}}
    older = dict(entry, version='1.1.0-rc.1')
    return [json.dumps({'format': 1, 'releases': releases}).encode()
            for releases in ([entry], [older, entry], [])]


def content_range_seeds() -> list[bytes]:
    offset = (4096).to_bytes(4, 'little')
    return [bytes((1,)) + offset + b'bytes 4096-9999/10000', bytes((0,)) + offset,
            bytes((2,)) + offset + b'bytes 4096-9999/*']


def test_seeds_and_regression_inputs_are_handled(tmp_path):
    replay(bundle_archive, bundle_seeds(tmp_path))
    replay(release_index, index_seeds())
    replay(content_range, content_range_seeds())


def test_fuzz_bundle_archive(tmp_path):
    assert_no_crash(bundle_archive, seeds=bundle_seeds(tmp_path), work_dir=tmp_path / 'fuzz',
                    instrument=INSTRUMENT + ['tarfile'], max_len=16384)


def test_fuzz_release_index(tmp_path):
    assert_no_crash(release_index, seeds=index_seeds(), work_dir=tmp_path,
                    instrument=INSTRUMENT, max_len=2048)


def test_fuzz_content_range(tmp_path):
    assert_no_crash(content_range, seeds=content_range_seeds(), work_dir=tmp_path,
                    instrument=INSTRUMENT, max_len=128)
