"""Safe extraction of a release bundle into a fresh slot directory.

A signed bundle is still untrusted input here: a compromised build machine can sign a
hostile tar. Every member is checked before anything is written, and the whole bundle is
refused (never partially skipped) when one member is:

- an absolute path, or a path with a ``..`` component;
- a symbolic link with an empty target, or one whose target, resolved through the bundle's
  own links, leaves the slot (checked after all members are known, since a later link can
  change where an earlier one points; links are therefore created last);
- a hard link to anything but a regular file already extracted from the bundle;
- a device file, FIFO, sparse or other special member;
- a path that passes through a symbolic link, or a name that appears twice;
- a name or link target longer than the filesystem takes;
- larger than the per-member limit, or pushing the total over the signed size.

Files are created with ``O_EXCL | O_NOFOLLOW`` inside a directory this function creates,
and setuid/setgid/sticky and group/other write bits are dropped.
"""

from __future__ import annotations

import lzma
import os
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import UnsafeBundleError

_COPY_CHUNK = 1 << 20
_MAX_LINK_DEPTH = 40
# Linux's NAME_MAX and PATH_MAX: a longer name would fail in the middle of writing the slot.
_NAME_MAX = 255
_PATH_MAX = 4096
# What reading a damaged archive raises besides TarError: the decompressors' own errors
# (gzip's BadGzipFile and bz2's "Invalid data stream" are OSErrors) and a stream cut short.
_CORRUPT_ARCHIVE = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError)


@dataclass(frozen=True)
class ExtractLimits:
    """Hard limits for one bundle; exceeding any refuses the bundle."""

    max_member_bytes: int = 16 << 30
    max_total_bytes: int = 64 << 30
    max_members: int = 500_000


@dataclass(frozen=True)
class ExtractResult:
    """What was written into the slot."""

    files: int
    directories: int
    links: int
    total_bytes: int


def _member_parts(name: str) -> tuple[str, ...]:
    """Validate a member name and return its normalized path components."""
    if not name or '\x00' in name:
        raise UnsafeBundleError(f'bundle member with an empty or NUL-containing name: {name!r}')
    if name.startswith('/') or os.path.isabs(name):
        raise UnsafeBundleError(f'bundle member {name!r} has an absolute path')
    raw_parts = name.split('/')
    if '..' in raw_parts:
        raise UnsafeBundleError(f'bundle member {name!r} contains a ".." component')
    parts = tuple(p for p in raw_parts if p not in ('', '.'))
    if any(_encoded_len(p) > _NAME_MAX for p in parts):
        raise UnsafeBundleError(f'bundle member {name[:80]!r}... has a name too long to write')
    return parts


def _encoded_len(name: str) -> int:
    return len(os.fsencode(name))


def _resolve_link_target(link: tuple[str, ...], target: str,
                         symlinks: dict[tuple[str, ...], str]) -> None:
    """Resolve ``target`` of symlink ``link`` through the bundle's symlinks; raise if it escapes."""
    shown = '/'.join(link)
    if not target or '\x00' in target:
        raise UnsafeBundleError(
            f'bundle member {shown!r} is a symlink with an empty or NUL-containing target')
    if _encoded_len(target) >= _PATH_MAX:
        raise UnsafeBundleError(f'bundle member {shown!r} is a symlink with a target too long')
    if target.startswith('/'):
        raise UnsafeBundleError(
            f'bundle member {shown!r} is a symlink to the absolute path {target!r}')

    def walk(base: list[str], rel: str, depth: int) -> list[str]:
        if depth > _MAX_LINK_DEPTH:
            raise UnsafeBundleError(f'symlink {shown!r} is part of a link loop')
        resolved = list(base)
        for part in rel.split('/'):
            if part in ('', '.'):
                continue
            if part == '..':
                if not resolved:
                    raise UnsafeBundleError(
                        f'bundle member {shown!r} is a symlink pointing outside the slot '
                        f'({target!r})')
                resolved.pop()
                continue
            resolved.append(part)
            inner = symlinks.get(tuple(resolved))
            if inner is not None:
                if inner.startswith('/'):
                    raise UnsafeBundleError(
                        f'symlink {shown!r} resolves through an absolute symlink')
                resolved = walk(resolved[:-1], inner, depth + 1)
        return resolved

    walk(list(link[:-1]), target, 0)


def extract_bundle(archive: Path, dest: Path, *, limits: ExtractLimits = ExtractLimits(),
                   on_member: Callable[[int, int], None] | None = None) -> ExtractResult:
    """Extract tar (optionally compressed) ``archive`` into ``dest``, which must not exist.

    ``on_member(members_done, bytes_done)`` is called after each member (progress and
    fault-injection hooks). On ``UnsafeBundleError`` the caller discards ``dest``.
    """
    dest = Path(dest)
    os.mkdir(dest, 0o755)
    root = str(dest)
    seen: set[tuple[str, ...]] = set()
    directories: set[tuple[str, ...]] = {()}
    regular_files: set[tuple[str, ...]] = set()
    symlinks: dict[tuple[str, ...], str] = {}
    files = dirs = links = 0
    total = 0
    count = 0
    try:
        tar = tarfile.open(archive, mode='r:*')
    except _CORRUPT_ARCHIVE as exc:
        raise UnsafeBundleError(f'bundle is not a readable tar archive: {exc}') from exc
    with tar:
        try:
            for member in _members(tar):
                count += 1
                if count > limits.max_members:
                    raise UnsafeBundleError(
                        f'bundle has more than {limits.max_members} members')
                parts = _member_parts(member.name)
                if not parts:
                    if member.isdir():
                        continue
                    raise UnsafeBundleError(f'bundle member {member.name!r} names the slot root')
                shown = '/'.join(parts)
                if parts in seen:
                    raise UnsafeBundleError(f'bundle member {shown!r} appears twice')
                for i in range(1, len(parts)):
                    if parts[:i] in symlinks:
                        raise UnsafeBundleError(
                            f'bundle member {shown!r} passes through the symlink '
                            f'{"/".join(parts[:i])!r}')
                    if parts[:i] in regular_files:
                        raise UnsafeBundleError(
                            f'bundle member {shown!r} is inside the regular file '
                            f'{"/".join(parts[:i])!r}')
                if member.ischr() or member.isblk():
                    raise UnsafeBundleError(f'bundle member {shown!r} is a device file')
                if member.isfifo():
                    raise UnsafeBundleError(f'bundle member {shown!r} is a FIFO')
                if member.issparse():
                    raise UnsafeBundleError(f'bundle member {shown!r} is a sparse file')
                if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
                    raise UnsafeBundleError(
                        f'bundle member {shown!r} has unsupported type {member.type!r}')
                if member.isreg() and member.size > limits.max_member_bytes:
                    raise UnsafeBundleError(
                        f'bundle member {shown!r} is {member.size} bytes, over the '
                        f'{limits.max_member_bytes}-byte member limit')
                seen.add(parts)
                path = os.path.join(root, *parts)
                if _encoded_len(path) >= _PATH_MAX:
                    raise UnsafeBundleError(
                        f'bundle member {shown[:80]!r}... has a path too long to write')
                parent = parts[:-1]
                if parent not in directories:
                    os.makedirs(os.path.join(root, *parent), 0o755, exist_ok=True)
                    for i in range(1, len(parent) + 1):
                        directories.add(parent[:i])
                if member.isdir():
                    if parts not in directories:
                        os.mkdir(path, 0o755)
                        directories.add(parts)
                    dirs += 1
                elif member.issym():
                    symlinks[parts] = member.linkname
                elif member.islnk():
                    target_parts = _member_parts(member.linkname)
                    if target_parts not in regular_files:
                        raise UnsafeBundleError(
                            f'bundle member {shown!r} is a hard link to {member.linkname!r}, '
                            'which is not a regular file earlier in the bundle')
                    os.link(os.path.join(root, *target_parts), path,
                            follow_symlinks=False)
                    regular_files.add(parts)
                    links += 1
                else:
                    total += member.size
                    if total > limits.max_total_bytes:
                        raise UnsafeBundleError(
                            f'bundle unpacks to more than {limits.max_total_bytes} bytes '
                            '(the size its signed metadata declares)')
                    _write_member(tar, member, path)
                    regular_files.add(parts)
                    files += 1
                if on_member is not None:
                    on_member(count, total)
        except tarfile.TarError as exc:
            raise UnsafeBundleError(f'bundle tar stream is corrupt: {exc}') from exc

    for link, target in symlinks.items():
        # A link named like a directory that other members live under would redirect them.
        if link in directories:
            raise UnsafeBundleError(f'symlink {"/".join(link)!r} shadows other bundle members')
        _resolve_link_target(link, target, symlinks)
    for link, target in symlinks.items():
        os.symlink(target, os.path.join(root, *link))
        links += 1
    return ExtractResult(files=files, directories=dirs, links=links, total_bytes=total)


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    members = iter(tar)
    while True:
        try:
            member = next(members)
        except StopIteration:
            return
        except _CORRUPT_ARCHIVE as exc:
            raise UnsafeBundleError(f'bundle tar stream is corrupt: {exc}') from exc
        yield member


def _read(source, member: tarfile.TarInfo) -> bytes:
    try:
        return source.read(_COPY_CHUNK)
    except _CORRUPT_ARCHIVE as exc:
        raise UnsafeBundleError(
            f'bundle member {member.name!r} cannot be read, the archive is corrupt: {exc}'
        ) from exc


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> None:
    source = tar.extractfile(member)
    if source is None:
        raise UnsafeBundleError(f'bundle member {member.name!r} has no data')
    mode = (member.mode & 0o755) | 0o600
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    written = 0
    with os.fdopen(fd, 'wb') as out:
        while True:
            chunk = _read(source, member)
            if not chunk:
                break
            written += len(chunk)
            out.write(chunk)
        os.fchmod(out.fileno(), mode)
    if written != member.size:
        raise UnsafeBundleError(
            f'bundle member {member.name!r} is truncated ({written} of {member.size} bytes)')

