"""Safe extraction: every way a tar member can escape its slot is refused."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest
from ota_testing import member

from jetson_edge_ota.errors import UnsafeBundleError
from jetson_edge_ota.extract import ExtractLimits, extract_bundle


def _tar(path: Path, members, *, compress: bool = True) -> Path:
    with tarfile.open(path, 'w:gz' if compress else 'w') as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """slot parent with a sibling 'outside' directory that must never be written."""
    (tmp_path / 'outside').mkdir()
    (tmp_path / 'slots').mkdir()
    return tmp_path


def _refused(sandbox: Path, members, match: str) -> None:
    archive = _tar(sandbox / 'bundle.tar.gz', members)
    before = {p: p.stat().st_nlink for p in (sandbox / 'outside').iterdir()}
    with pytest.raises(UnsafeBundleError, match=match):
        extract_bundle(archive, sandbox / 'slots' / 'new')
    assert {p: p.stat().st_nlink for p in (sandbox / 'outside').iterdir()} == before
    assert sorted(p.name for p in sandbox.iterdir()) == ['bundle.tar.gz', 'outside', 'slots']
    # nothing ever left the slot directory
    for path in (sandbox / 'slots' / 'new').rglob('*'):
        assert (sandbox / 'slots' / 'new') in path.parents


def test_absolute_member_path_cannot_escape(sandbox):
    _refused(sandbox, [member(str(sandbox / 'outside' / 'x'))], 'absolute path')


def test_dotdot_member_path_cannot_escape(sandbox):
    _refused(sandbox, [member('../../outside/x')], r'"\.\." component')


def test_dotdot_inside_member_path_cannot_escape(sandbox):
    _refused(sandbox, [member('a/b/../../../outside/x')], r'"\.\." component')


def test_absolute_symlink_cannot_escape(sandbox):
    _refused(sandbox, [member('etc', kind=tarfile.SYMTYPE, linkname='/etc')],
             'symlink to the absolute path')


def test_relative_symlink_cannot_escape(sandbox):
    _refused(sandbox, [member('a/up', kind=tarfile.SYMTYPE, linkname='../../outside')],
             'pointing outside the slot')


def test_symlink_chain_cannot_escape(sandbox):
    # Lexically 'sub/x -> l/../..' stays inside; through 'sub/l -> ..' it does not.
    _refused(sandbox, [member('sub/x', kind=tarfile.SYMTYPE, linkname='l/../..'),
                       member('sub/l', kind=tarfile.SYMTYPE, linkname='..')],
             'pointing outside the slot')


def test_write_through_symlink_cannot_escape(sandbox):
    _refused(sandbox, [member('d', kind=tarfile.SYMTYPE, linkname='sub'),
                       member('d/x', data=b'via link')], 'passes through the symlink')


def test_symlink_replacing_directory_cannot_escape(sandbox):
    # The file comes first, then a link named like its directory redirects the path.
    _refused(sandbox, [member('d/x', data=b'1'),
                       member('d', kind=tarfile.SYMTYPE, linkname='../outside')],
             'shadows other bundle members|pointing outside')


def test_symlink_with_an_empty_target_is_refused(sandbox):
    # Found by the bundle_archive fuzzer: os.symlink('') fails only after the files are written.
    _refused(sandbox, [member('lib/a', data=b'x'),
                       member('lib/current', kind=tarfile.SYMTYPE, linkname='')],
             'empty or NUL-containing target')


def test_symlink_with_a_nul_in_its_target_is_refused(sandbox):
    info, _ = member('lib/current', kind=tarfile.SYMTYPE, linkname='a')
    info.pax_headers = {'linkpath': 'a\x00b'}  # a ustar field would end at the NUL
    archive = sandbox / 'bundle.tar'
    with tarfile.open(archive, 'w', format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info)
    with pytest.raises(UnsafeBundleError, match='empty or NUL-containing target'):
        extract_bundle(archive, sandbox / 'slots' / 'new')


@pytest.mark.parametrize('name, linkname', [
    ('a' * 256, ''),
    ('/'.join(['d' * 200] * 21), ''),
    ('l', 'x' * 4096),
])
def test_names_longer_than_the_filesystem_takes_are_refused(sandbox, name, linkname):
    kind = tarfile.SYMTYPE if linkname else tarfile.REGTYPE
    _refused(sandbox, [member(name, kind=kind, linkname=linkname)], 'too long')


def test_symlink_loop_is_refused(sandbox):
    _refused(sandbox, [member('a', kind=tarfile.SYMTYPE, linkname='b'),
                       member('b', kind=tarfile.SYMTYPE, linkname='a')], 'link loop')


def test_hardlink_to_outside_file_cannot_escape(sandbox):
    (sandbox / 'outside' / 'secret').write_text('s')
    _refused(sandbox, [member('h', kind=tarfile.LNKTYPE,
                              linkname=str(sandbox / 'outside' / 'secret'))], 'absolute path')


def test_hardlink_with_dotdot_cannot_escape(sandbox):
    _refused(sandbox, [member('h', kind=tarfile.LNKTYPE, linkname='../outside/x')],
             r'"\.\." component')


def test_hardlink_to_symlink_member_is_refused(sandbox):
    _refused(sandbox, [member('l', kind=tarfile.SYMTYPE, linkname='x'),
                       member('h', kind=tarfile.LNKTYPE, linkname='l')],
             'not a regular file earlier')


@pytest.mark.parametrize('kind,what', [(tarfile.CHRTYPE, 'device file'),
                                       (tarfile.BLKTYPE, 'device file'),
                                       (tarfile.FIFOTYPE, 'FIFO')])
def test_special_files_are_refused(sandbox, kind, what):
    _refused(sandbox, [member('dev/thing', kind=kind)], what)


def test_duplicate_member_cannot_overwrite(sandbox):
    _refused(sandbox, [member('a', data=b'first'), member('a', data=b'second')], 'appears twice')


def test_oversized_member_is_refused(sandbox):
    archive = _tar(sandbox / 'bundle.tar.gz', [member('big', data=b'x' * 4096)])
    with pytest.raises(UnsafeBundleError, match='member limit'):
        extract_bundle(archive, sandbox / 'slots' / 'new',
                       limits=ExtractLimits(max_member_bytes=1024))


def test_decompression_bomb_is_cut_at_declared_total(sandbox):
    members = [member(f'f{i}', data=b'\0' * 10_000) for i in range(10)]
    archive = _tar(sandbox / 'bundle.tar.gz', members)
    assert archive.stat().st_size < 2_000          # compresses to almost nothing
    with pytest.raises(UnsafeBundleError, match='more than 50000 bytes'):
        extract_bundle(archive, sandbox / 'slots' / 'new',
                       limits=ExtractLimits(max_total_bytes=50_000))


def test_too_many_members_are_refused(sandbox):
    archive = _tar(sandbox / 'bundle.tar.gz', [member(f'f{i}') for i in range(20)])
    with pytest.raises(UnsafeBundleError, match='more than 10 members'):
        extract_bundle(archive, sandbox / 'slots' / 'new', limits=ExtractLimits(max_members=10))


def test_truncated_archive_is_refused(sandbox):
    archive = _tar(sandbox / 'bundle.tar', [member('a', data=os.urandom(20_000))],
                   compress=False)
    archive.write_bytes(archive.read_bytes()[:12_000])
    with pytest.raises(UnsafeBundleError, match='truncated|corrupt'):
        extract_bundle(archive, sandbox / 'slots' / 'new')


def test_existing_destination_is_never_reused(sandbox):
    archive = _tar(sandbox / 'bundle.tar.gz', [member('a')])
    (sandbox / 'slots' / 'new').mkdir()
    with pytest.raises(FileExistsError):
        extract_bundle(archive, sandbox / 'slots' / 'new')


def test_good_bundle_extracts_with_links_and_safe_modes(sandbox):
    members = [
        member('workspace', kind=tarfile.DIRTYPE, mode=0o755),
        member('workspace/bin/tool', data=b'#!/bin/sh\n', mode=0o4777),   # setuid, o+w
        member('workspace/lib/a.so', data=b'ELF'),
        member('workspace/lib/a.so.1', kind=tarfile.SYMTYPE, linkname='a.so'),
        member('workspace/bin/same', kind=tarfile.LNKTYPE, linkname='workspace/bin/tool'),
        member('workspace/share', kind=tarfile.SYMTYPE, linkname='../config'),
        member('config/x.yaml', data=b'k: v\n'),
        member('./', kind=tarfile.DIRTYPE),
    ]
    archive = _tar(sandbox / 'bundle.tar.gz', members)
    result = extract_bundle(archive, sandbox / 'slots' / 'new')
    slot = sandbox / 'slots' / 'new'
    assert (result.files, result.links) == (3, 3)
    assert (slot / 'workspace/lib/a.so.1').read_bytes() == b'ELF'
    assert (slot / 'workspace/share/x.yaml').read_text() == 'k: v\n'
    assert os.stat(slot / 'workspace/bin/same').st_ino == os.stat(slot / 'workspace/bin/tool').st_ino
    mode = stat.S_IMODE(os.stat(slot / 'workspace/bin/tool').st_mode)
    assert mode == 0o755                      # no setuid, no group/other write
