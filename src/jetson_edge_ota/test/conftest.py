"""Shared fixtures: a signed repository on disk, served on loopback, and an enrolled robot."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
try:
    import jetson_edge_common  # noqa: F401  (installed by colcon in the workspace)
except ImportError:  # plain `pytest` in the package directory: use the sibling source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'jetson_edge_common'))

from jetson_edge_ota.fetch import RetryPolicy  # noqa: E402
from jetson_edge_ota.health import HealthResult  # noqa: E402
from jetson_edge_ota.repository import RepositoryPolicy, RepositoryWriter  # noqa: E402
from jetson_edge_ota.robot import Robot  # noqa: E402
from ota_testing import RepoServer  # noqa: E402

FAST_RETRY = RetryPolicy(attempts=3, backoff_s=0.01, connect_timeout_s=2.0, read_timeout_s=2.0)


@pytest.fixture
def policy() -> RepositoryPolicy:
    """Repository policy of the ``writer`` fixture; tests parametrize ``policy`` to change it."""
    return RepositoryPolicy()


@pytest.fixture
def writer(tmp_path: Path, policy: RepositoryPolicy) -> RepositoryWriter:
    w = RepositoryWriter(tmp_path / 'repo', tmp_path / 'keys')
    w.init(policy)
    return w


@pytest.fixture
def server(writer: RepositoryWriter):
    srv = RepoServer(writer.repo_dir)
    yield srv
    srv.close()


def healthy(slot: Path, timeout_s: float) -> HealthResult:
    """A unit-test health check: the slot must be a complete release."""
    ok = (slot / 'release.json').is_file() and (slot / 'workspace').is_dir()
    return HealthResult(ok, 'slot complete' if ok else 'slot incomplete')


def unhealthy(slot: Path, timeout_s: float) -> HealthResult:
    return HealthResult(False, 'diagnostics: perception: ERROR model failed to load')


@pytest.fixture
def make_robot(tmp_path: Path, writer: RepositoryWriter, server: RepoServer):
    def make(name: str = 'robot', *, jetson_model: str = 'generic', keep: int = 2,
             retry: RetryPolicy = FAST_RETRY, **kwargs) -> Robot:
        robot = Robot(tmp_path / name, retry=retry, **kwargs)
        robot.enroll(repo_url=server.url,
                     trusted_root=(writer.metadata_dir / 'root.json').read_bytes(),
                     jetson_model=jetson_model, keep=keep, health_check='none',
                     health_timeout_s=5.0)
        return robot
    return make
