"""Shared paths: the fixtures folder beside the repository, the shipped model cards, the asset cache."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO.parent / 'shared' / 'fixtures'
CARDS = REPO / 'config' / 'models'


def fixture_file(*parts: str) -> Path:
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f'fixture {path} is absent (the shared fixtures folder sits beside the repository)')
    return path


@pytest.fixture
def models_dir() -> Path:
    return fixture_file('models')


@pytest.fixture
def images_dir() -> Path:
    return fixture_file('images')


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
