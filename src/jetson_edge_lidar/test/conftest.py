"""Shared test helpers: the fixture capture and its packets."""

from __future__ import annotations

from pathlib import Path

import pytest
from jetson_edge_common.testing import committed_fixture

from jetson_edge_lidar.input_stats import InputStats
from jetson_edge_lidar.pcap import read_udp_payloads


@pytest.fixture(scope='session')
def fixture_pcap() -> Path:
    """The real VLP-16 capture, committed under test/data."""
    return committed_fixture('lidar/vlp16_mrpt_3rev.pcap')


@pytest.fixture(scope='session')
def fixture_packets(fixture_pcap: Path) -> list[tuple[float, bytes]]:
    return [(d.timestamp, d.payload)
            for d in read_udp_payloads(fixture_pcap, stats=InputStats(), port=2368)]
