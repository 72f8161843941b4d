"""Helpers for tests: locating the shared fixtures and skipping cleanly where they are absent."""

from __future__ import annotations

import os
from pathlib import Path


def fixtures_dir() -> Path | None:
    """The shared fixtures folder (``../shared/fixtures`` beside the repository), if present.

    ``JETSON_EDGE_FIXTURES`` overrides the location.
    """
    override = os.environ.get('JETSON_EDGE_FIXTURES')
    if override:
        return Path(override) if Path(override).is_dir() else None
    starts = [Path(__file__).resolve(), Path.cwd().resolve() / '_']
    for parent in (p for start in starts for p in start.parents):
        candidate = parent.parent / 'shared' / 'fixtures'
        if (parent / 'src').is_dir() and candidate.is_dir():
            return candidate
    return None


def fixture_path(relative: str) -> Path:
    """Path to one fixture file; skips the calling test when it is absent."""
    import pytest

    base = fixtures_dir()
    if base is None or not (base / relative).exists():
        pytest.skip(f'fixture {relative} not found (needs ../shared/fixtures beside the repository)')
    return base / relative
