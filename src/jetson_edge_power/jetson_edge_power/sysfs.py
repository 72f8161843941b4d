"""Reading sysfs-shaped files under a configurable root, degrading instead of failing.

Every path in a hardware layout is written as on the board (``/sys/class/thermal/...``) and
resolved under a root directory, so tests and the thermal model can supply their own tree and
the production readers run unchanged against it.  A path spec may be one path, a glob, or a
list of candidates (JetPack releases move files around); the first existing match wins.
Unreadable or missing files yield ``None`` and one WARN per path, never an exception.
"""

from __future__ import annotations

import glob
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

_LOG = logging.getLogger(__name__)

PathSpec = str | Sequence[str]


def candidates(spec: PathSpec | None) -> tuple[str, ...]:
    """Normalize a layout path spec (``None``, one string or a list) to a tuple."""
    if spec is None:
        return ()
    if isinstance(spec, str):
        return (spec,)
    return tuple(spec)


class SysfsRoot:
    """A directory standing in for ``/``, with tolerant readers and cached path resolution."""

    def __init__(self, root: str | os.PathLike[str] = '/', *, retry_s: float = 2.0,
                 logger: logging.Logger | None = None) -> None:
        self.root = Path(root)
        self._retry_s = retry_s
        self._log = logger or _LOG
        self._resolved: dict[tuple[str, ...], tuple[str | None, float]] = {}
        self._globs: dict[str, tuple[list[str], float]] = {}
        self._warned: set[str] = set()

    def path(self, board_path: str) -> str:
        """Map a path as written on the board to the path under this root."""
        return str(self.root / board_path.lstrip('/'))

    def warn_once(self, key: str, message: str) -> None:
        """Log ``message`` as a WARN the first time ``key`` is seen."""
        if key not in self._warned:
            self._warned.add(key)
            self._log.warning(message)

    def glob(self, pattern: str) -> list[str]:
        """Sorted matches of a board glob under the root (natural order: zone2 < zone10).

        Re-scanned at most every ``retry_s``: directory walks cost more than the reads.
        """
        now = time.monotonic()
        cached = self._globs.get(pattern)
        if cached is not None and now - cached[1] < self._retry_s:
            return cached[0]
        found = sorted(glob.glob(self.path(pattern)), key=_natural_key)
        self._globs[pattern] = (found, now)
        return found

    def resolve(self, spec: PathSpec | None) -> str | None:
        """First existing path among the spec's candidates; retried every ``retry_s`` if none."""
        cands = candidates(spec)
        if not cands:
            return None
        cached = self._resolved.get(cands)
        now = time.monotonic()
        if cached is not None:
            found, when = cached
            if found is not None and os.path.exists(found):
                return found
            if found is None and now - when < self._retry_s:
                return None
        found = None
        for cand in cands:
            matches = self.glob(cand) if any(c in cand for c in '*?[') else (
                [self.path(cand)] if os.path.exists(self.path(cand)) else [])
            if matches:
                found = matches[0]
                break
        self._resolved[cands] = (found, now)
        return found

    def read_text(self, path: str, *, what: str) -> str | None:
        """Stripped file content, or ``None`` with one WARN naming ``what`` could not be read."""
        try:
            with open(path, encoding='ascii', errors='replace') as handle:
                return handle.read().strip()
        except OSError as exc:
            self.warn_once(path, f'{what}: cannot read {path} ({exc.strerror or exc}); '
                                 'metric left out')
            return None

    def read_number(self, path: str, *, what: str) -> float | None:
        """First whitespace-separated token of the file as a number, or ``None`` with a WARN."""
        text = self.read_text(path, what=what)
        if text is None:
            return None
        token = text.split()[0] if text else ''
        try:
            return float(token)
        except ValueError:
            self.warn_once(path + ':value', f'{what}: {path} holds {text[:40]!r}, not a '
                                            'number; metric left out')
            return None

    def read_spec_number(self, spec: PathSpec | None, *, what: str) -> float | None:
        """Resolve ``spec`` and read a number from it; ``None`` if absent or unreadable."""
        found = self.resolve(spec)
        if found is None:
            if candidates(spec):
                self.warn_once('missing:' + '|'.join(candidates(spec)),
                               f'{what}: none of {list(candidates(spec))} exists under '
                               f'{self.root}; metric left out')
            return None
        return self.read_number(found, what=what)


def _natural_key(text: str) -> list[object]:
    parts: list[object] = []
    digits = ''
    chars = ''
    for ch in text:
        if ch.isdigit():
            if chars:
                parts.append(chars)
                chars = ''
            digits += ch
        else:
            if digits:
                parts.append(int(digits))
                digits = ''
            chars += ch
    if digits:
        parts.append(int(digits))
    if chars:
        parts.append(chars)
    # Mixed int/str comparisons would fail; tag each part with its type.
    return [(0, p) if isinstance(p, int) else (1, p) for p in parts]
