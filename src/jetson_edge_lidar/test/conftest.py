"""Shared test helpers: the fixture capture and its packets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jetson_edge_lidar.input_stats import InputStats
from jetson_edge_lidar.pcap import read_udp_payloads

FIXTURE = Path('lidar') / 'vlp16_mrpt_3rev.pcap'


def _fixtures_dir() -> Path | None:
    override = os.environ.get('JETSON_EDGE_FIXTURES')
    if override:
        return Path(override)
    # src/jetson_edge_lidar/test/conftest.py -> repository root -> ../shared/fixtures
    return Path(__file__).resolve().parents[3].parent / 'shared' / 'fixtures'


@pytest.fixture(scope='session')
def fixture_pcap() -> Path:
    base = _fixtures_dir()
    if base is None or not (base / FIXTURE).is_file():
        pytest.skip(f'fixture {FIXTURE} not found (needs ../shared/fixtures beside the '
                    f'repository)')
    return base / FIXTURE


@pytest.fixture(scope='session')
def fixture_packets(fixture_pcap: Path) -> list[tuple[float, bytes]]:
    return [(d.timestamp, d.payload)
            for d in read_udp_payloads(fixture_pcap, stats=InputStats(), port=2368)]
