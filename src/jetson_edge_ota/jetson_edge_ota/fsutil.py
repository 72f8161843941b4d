"""Crash-safe file-system primitives: atomic writes, atomic symlink switch, free space.

Every state change the installer makes goes through these, so that a process killed
at any instruction leaves either the old or the new file, never a torn one.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

# atomic_write_bytes and fsync_dir are shared with the rest of the suite; the installer's modules
# take every primitive from here.
from jetson_edge_common.files import atomic_write_bytes, fsync_dir  # noqa: F401


def atomic_write_json(path: Path, value: Any, *, mode: int = 0o644) -> None:
    """Atomically replace ``path`` with ``value`` as indented, key-sorted JSON."""
    atomic_write_bytes(path, (json.dumps(value, indent=2, sort_keys=True) + '\n').encode(),
                       mode=mode)


def read_json(path: Path) -> Any:
    """Read a JSON file; ``None`` if it does not exist."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None


def atomic_symlink(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` atomically (rename of a fresh temp symlink over it).

    Readers resolving ``link`` see the old target or the new one, at every instant.
    """
    link = Path(link)
    tmp = link.with_name(f'.{link.name}.tmp-{os.getpid()}')
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(link.parent)


def remove_tree(path: Path) -> None:
    """Delete a directory tree even where bundle files are read-only; no-op if absent."""
    path = Path(path)
    if path.is_symlink() or path.is_file():
        path.unlink()
        return
    if not path.exists():
        return

    def _make_writable_and_retry(func, failed_path, *_exc) -> None:  # noqa: ANN001
        parent = os.path.dirname(failed_path)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        func(failed_path)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=_make_writable_and_retry)
    else:
        shutil.rmtree(path, onerror=_make_writable_and_retry)


def free_bytes(path: Path) -> int:
    """Bytes available to an unprivileged writer on the file system holding ``path``."""
    return shutil.disk_usage(path).free
