"""Shared paths: the real-data fixtures (photos committed, models beside the repository), the shipped
model cards, the asset cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from jetson_edge_common.testing import committed_fixture, fixture_path

REPO = Path(__file__).resolve().parents[3]
CARDS = REPO / 'config' / 'models'


@pytest.fixture
def models_dir() -> Path:
    """The real models: too large to commit, skipped where ../shared/fixtures is absent."""
    return fixture_path('models')


@pytest.fixture
def images_dir() -> Path:
    """The six real photos, committed under test/data."""
    return committed_fixture('images')


@pytest.fixture
def asset_cache() -> Path:
    """The `jetson-edge assets fetch` cache; tests never download, they skip when it was not fetched."""
    from jetson_edge_perception import assets
    cache = assets.default_cache_dir()
    status = assets.verify(cache_dir=cache)
    if any(v != 'ok' for v in status.values()):
        missing = [k for k, v in status.items() if v != 'ok']
        pytest.skip(f'assets not fetched into {cache} ({", ".join(missing)}): run `jetson-edge assets fetch`')
    return cache
