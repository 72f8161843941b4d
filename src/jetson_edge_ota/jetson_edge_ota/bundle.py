"""Release bundles: a reproducible tar of one release for one Jetson model.

Layout inside the bundle (and so inside a slot on the robot)::

    release.json            manifest: name, version, jetson model, every file's size and sha256
    workspace/              the built workspace (colcon install tree or venv)
    config/                 profiles and parameter files
    models/                 model files and model cards
    engines/                prebuilt TensorRT engines for this bundle's Jetson model only

Bundles are reproducible: members sorted, owners zeroed, times clamped to
``SOURCE_DATE_EPOCH`` (or 0), gzip header without a time stamp, so rebuilding the same
inputs gives the same bytes and the same TUF hash.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import PublishError, UnsafeBundleError
from .version import ReleaseVersion

MANIFEST_NAME = 'release.json'
BUNDLE_FORMAT = 1
GENERIC_MODEL = 'generic'
SECTIONS = ('workspace', 'config', 'models', 'engines')


@dataclass(frozen=True)
class BundleSources:
    """Directories that make up one release; ``engines`` maps Jetson model -> directory."""

    workspace: Path
    config: Path | None = None
    models: Path | None = None
    engines: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class BundleInfo:
    """A built bundle: where it is and what the signed metadata will say about it."""

    path: Path
    version: str
    jetson_model: str
    length: int
    sha256: str
    extracted_size: int
    files: int


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _collect(section: str, root: Path) -> list[tuple[str, Path]]:
    """(archive name, source path) for every entry under ``root``; refuses unsafe links."""
    if not root.is_dir():
        raise PublishError(f'{section} source {root} is not a directory')
    entries: list[tuple[str, Path]] = [(section, root)]
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        for name in sorted(dirnames) + sorted(filenames):
            path = base / name
            arcname = f'{section}/{path.relative_to(root).as_posix()}'
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                target = os.readlink(path)
                resolved = os.path.normpath(os.path.join(os.path.dirname(arcname), target))
                if os.path.isabs(target) or not (
                        resolved == section or resolved.startswith(f'{section}/')):
                    raise PublishError(
                        f'{path} is a symlink to {target!r}, outside its {section} directory; '
                        'robots refuse such bundles. Build the workspace without '
                        '--symlink-install or copy the file in')
            elif not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise PublishError(f'{path} is not a regular file, directory or symlink')
            entries.append((arcname, path))
    return entries


def build_bundle(out_path: Path, *, version: str, jetson_model: str, sources: BundleSources,
                 compress: bool = True, source_date_epoch: int | None = None) -> BundleInfo:
    """Write the bundle for ``jetson_model`` (or ``generic``, without engines) to ``out_path``."""
    ReleaseVersion.parse(version)
    epoch = source_date_epoch if source_date_epoch is not None else \
        int(os.environ.get('SOURCE_DATE_EPOCH', '0'))
    entries: list[tuple[str, Path]] = _collect('workspace', Path(sources.workspace))
    if sources.config is not None:
        entries += _collect('config', Path(sources.config))
    if sources.models is not None:
        entries += _collect('models', Path(sources.models))
    if jetson_model != GENERIC_MODEL:
        if jetson_model not in sources.engines:
            raise PublishError(f'no engines directory given for Jetson model {jetson_model!r}')
        entries += _collect('engines', Path(sources.engines[jetson_model]))

    manifest_files: dict[str, dict[str, object]] = {}
    total = 0
    for arcname, path in entries:
        if path.is_file() and not path.is_symlink():
            size = path.stat().st_size
            manifest_files[arcname] = {'size': size, 'sha256': _sha256_file(path)}
            total += size
    manifest = {
        'format': BUNDLE_FORMAT, 'name': 'jetson-edge', 'version': version,
        'jetson_model': jetson_model, 'files': manifest_files,
    }
    manifest_bytes = (json.dumps(manifest, indent=1, sort_keys=True) + '\n').encode()
    total += len(manifest_bytes)

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + '.partial')
    with open(tmp, 'wb') as raw:
        stream = gzip.GzipFile(filename='', mode='wb', fileobj=raw, mtime=0,
                               compresslevel=6) if compress else raw
        with tarfile.open(fileobj=stream, mode='w', format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(MANIFEST_NAME)
            info.size, info.mode, info.mtime = len(manifest_bytes), 0o644, epoch
            tar.addfile(info, io.BytesIO(manifest_bytes))
            for arcname, path in entries:
                info = tar.gettarinfo(str(path), arcname=arcname)
                info.uid = info.gid = 0
                info.uname = info.gname = ''
                info.mtime = min(int(info.mtime), epoch) if epoch else 0
                info.mode &= 0o755
                if info.isreg():
                    with open(path, 'rb') as handle:
                        tar.addfile(info, handle)
                else:
                    tar.addfile(info)
        if compress:
            stream.close()
    os.replace(tmp, out_path)
    return BundleInfo(path=out_path, version=version, jetson_model=jetson_model,
                      length=out_path.stat().st_size, sha256=_sha256_file(out_path),
                      extracted_size=total, files=len(manifest_files))


def read_manifest(slot: Path) -> dict:
    """The manifest of an extracted slot; raises ``UnsafeBundleError`` if missing or malformed."""
    try:
        manifest = json.loads((Path(slot) / MANIFEST_NAME).read_text())
    except (OSError, ValueError) as exc:
        raise UnsafeBundleError(f'bundle has no readable {MANIFEST_NAME}: {exc}') from exc
    if not isinstance(manifest, dict) or manifest.get('format') != BUNDLE_FORMAT or \
            not isinstance(manifest.get('files'), dict):
        raise UnsafeBundleError(f'{MANIFEST_NAME} is not a format-{BUNDLE_FORMAT} manifest')
    for name, meta in manifest['files'].items():
        problem = _file_entry_problem(name, meta)
        if problem:
            raise UnsafeBundleError(f'{MANIFEST_NAME}: file {name!r} {problem}')
    return manifest


def _file_entry_problem(name: str, meta: object) -> str | None:
    parts = name.split('/')
    if not name or '\x00' in name or name.startswith('/') or '..' in parts:
        return 'is not a relative path inside the bundle'
    if not isinstance(meta, dict):
        return 'has no size and sha256'
    size, digest = meta.get('size'), meta.get('sha256')
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return f'has size {size!r}, not a byte count'
    if not isinstance(digest, str) or len(digest) != 64 or \
            digest.strip('0123456789abcdef') != '':
        return f'has sha256 {digest!r}, not 64 hex digits'
    return None


def verify_slot(slot: Path, *, hashes: bool = False) -> list[str]:
    """Problems found comparing an extracted slot with its manifest (empty list: intact).

    Sizes are always compared; ``hashes=True`` also re-hashes every file.
    """
    slot = Path(slot)
    manifest = read_manifest(slot)
    problems: list[str] = []
    listed = manifest['files']
    for name, meta in listed.items():
        path = slot / name
        if not path.is_file() or path.is_symlink():
            problems.append(f'missing: {name}')
        elif path.stat().st_size != meta['size']:
            problems.append(f'size differs: {name}')
        elif hashes and _sha256_file(path) != meta['sha256']:
            problems.append(f'content differs: {name}')
    for dirpath, _dirs, filenames in os.walk(slot):
        for name in filenames:
            rel = (Path(dirpath) / name).relative_to(slot).as_posix()
            if rel != MANIFEST_NAME and rel not in listed and not (Path(dirpath) / name).is_symlink():
                problems.append(f'not in manifest: {rel}')
    return problems
