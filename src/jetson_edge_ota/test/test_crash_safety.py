"""SIGKILL at every install step: the robot is on the old or the new complete release.

The install runs as a real ``python -m jetson_edge_ota ota install`` subprocess that kills
itself (``JETSON_EDGE_OTA_FAULT=kill@<step>``). Right after the kill, before any recovery,
``current`` must already be a complete release; after the boot-time ``status`` the
journal is resolved, leftovers are gone, and a fresh install still works.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FAST_RETRY, healthy
from ota_testing import RepoServer, assert_on_complete_release, publish_release

from jetson_edge_ota.bundle import read_manifest, verify_slot
from jetson_edge_ota.faults import FAULT_ENV, INSTALL_STEPS
from jetson_edge_ota.repository import RepositoryWriter
from jetson_edge_ota.robot import Robot

PACKAGE_DIR = Path(__file__).resolve().parents[1]
COMMITTED_BY = ('committing', 'committed', 'pruned')


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp('crash')
    writer = RepositoryWriter(base / 'repo', base / 'keys')
    writer.init()
    publish_release(writer, base, '1.0.0', payload_bytes=64 * 1024)
    server = RepoServer(writer.repo_dir)
    template = Robot(base / 'template', retry=FAST_RETRY)
    template.enroll(repo_url=server.url, jetson_model='generic', health_check='cmd:true',
                    health_timeout_s=10.0,
                    trusted_root=(writer.metadata_dir / 'root.json').read_bytes())
    template.install(health_check=healthy)
    publish_release(writer, base, '1.1.0', payload_bytes=64 * 1024)
    yield base, template.layout.root
    server.close()


def _robot_copy(world, tmp_path: Path) -> Path:
    _, template = world
    root = tmp_path / 'robot'
    shutil.copytree(template, root, symlinks=True)
    return root


def _ota(root: Path, *args: str, fault: str | None = None, **popen) -> subprocess.Popen:
    env = {**os.environ,
           'PYTHONPATH': os.pathsep.join(filter(None, [str(PACKAGE_DIR), os.environ.get('PYTHONPATH')]))}
    if fault:
        env[FAULT_ENV] = fault
    return subprocess.Popen([sys.executable, '-m', 'jetson_edge_ota', 'ota', *args,
                             '--state-dir', str(root)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **popen)


def _version_of_current(root: Path) -> str:
    current = root / 'current'
    assert verify_slot(current, hashes=True) == [], 'current is not a complete release'
    return read_manifest(current)['version']


@pytest.mark.parametrize('step', INSTALL_STEPS)
def test_sigkill_during_install_leaves_old_or_new_complete_release(world, tmp_path, step):
    root = _robot_copy(world, tmp_path)
    proc = _ota(root, 'install', '--no-progress', fault=f'kill@{step}')
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
    assert f'fault injection: kill at step {step}' in err.decode()

    expected = '1.1.0' if step in COMMITTED_BY else '1.0.0'
    seen = _version_of_current(root)               # before any recovery: never a mix
    assert seen in ('1.0.0', '1.1.0')
    if step not in ('switched', 'trial', 'health'):
        assert seen == expected

    report = Robot(root, retry=FAST_RETRY).status(verify_hashes=True)   # the boot-time call
    assert report.problems == []
    assert_on_complete_release(root, expected)
    assert len(list((root / 'slots').iterdir())) == (2 if expected == '1.1.0' else 1)

    if expected == '1.0.0':                        # the interrupted update can be redone
        assert Robot(root, retry=FAST_RETRY).install(health_check=healthy).version == '1.1.0'
        assert_on_complete_release(root, '1.1.0')


def test_sigkill_during_rollback_completes_the_rollback(world, tmp_path):
    root = _robot_copy(world, tmp_path)
    Robot(root, retry=FAST_RETRY).install(health_check=healthy)
    proc = _ota(root, 'rollback', fault='kill@rollback-switching')
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert _version_of_current(root) == '1.1.0'
    Robot(root).status()
    assert_on_complete_release(root, '1.0.0')


def test_paused_install_holds_the_lock_and_dies_without_a_trace(world, tmp_path):
    root = _robot_copy(world, tmp_path)
    proc = _ota(root, 'install', '--no-progress', fault='pause@health')
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open(f'/proc/{proc.pid}/stat') as stat:
            if stat.read().split(')')[-1].split()[0] == 'T':
                break
        time.sleep(0.05)
    else:
        pytest.fail('install never reached the health step')
    report = Robot(root).status()                   # must not "recover" a live install
    assert report.recovered == 'operation in progress in another process'
    assert report.pending['step'] == 'health'
    assert _version_of_current(root) == '1.1.0'     # on trial
    proc.kill()
    proc.communicate(timeout=30)
    Robot(root).status()
    assert_on_complete_release(root, '1.0.0')
