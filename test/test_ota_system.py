"""OTA end to end through the installed ``jetson-edge`` command and a plain static web server.

The repository is served by Python's stock ``SimpleHTTPRequestHandler`` (no Range support,
no special routes): what a CDN or an S3 bucket would do.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:  # noqa: ANN002
        pass


@pytest.fixture
def static_server(tmp_path):
    repo = tmp_path / 'repo'
    repo.mkdir()
    server = ThreadingHTTPServer(('127.0.0.1', 0),
                                 functools.partial(_Quiet, directory=str(repo)))
    threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05},
                     daemon=True).start()
    yield repo, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


def jetson_edge(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(['jetson-edge', *args], capture_output=True, text=True, timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f'jetson-edge {" ".join(args)} -> {done.returncode}\n'
                             f'{done.stdout}\n{done.stderr[-3000:]}')
    return done


def _release_tree(base: Path, version: str) -> Path:
    (base / 'workspace' / 'bin').mkdir(parents=True)
    (base / 'workspace' / 'VERSION').write_text(version)
    (base / 'config').mkdir()
    (base / 'config' / 'robot.yaml').write_text(f'release: {version}\n')
    (base / 'engines').mkdir()
    (base / 'engines' / 'detector.engine').write_bytes(os.urandom(4096))
    return base


def test_release_published_with_jetson_edge_installs_on_detected_orin_nano(tmp_path,
                                                                           static_server):
    repo, url = static_server
    keys = tmp_path / 'keys'
    jetson_edge('ota', 'keys', 'init', '--repo', str(repo), '--keys-dir', str(keys))
    for version in ('1.0.0', '1.1.0'):
        src = _release_tree(tmp_path / version, version)
        jetson_edge('ota', 'publish', '--repo', str(repo), '--keys-dir', str(keys),
                    '--version', version, '--workspace', str(src / 'workspace'),
                    '--config', str(src / 'config'),
                    '--engines', f'orin_nano={src / "engines"}')
    fake_root = tmp_path / 'hw'
    (fake_root / 'proc' / 'device-tree').mkdir(parents=True)
    (fake_root / 'proc' / 'device-tree' / 'model').write_bytes(
        b'NVIDIA Jetson Orin Nano Developer Kit\x00')
    state = tmp_path / 'robot'
    jetson_edge('--root', str(fake_root), 'ota', 'enroll', '--state-dir', str(state),
                '--repo-url', url, '--trusted-root', str(repo / 'metadata' / 'root.json'),
                '--jetson-model', 'auto', '--health-check', 'cmd:test -f engines/detector.engine')
    assert json.loads((state / 'config.json').read_text())['jetson_model'] == 'orin_nano'
    done = jetson_edge('ota', 'install', '--state-dir', str(state), '--no-progress')
    assert 'installed and committed 1.1.0' in done.stdout
    assert (state / 'current' / 'workspace' / 'VERSION').read_text() == '1.1.0'
    assert (state / 'current' / 'engines' / 'detector.engine').is_file()

    status = json.loads(jetson_edge('ota', 'status', '--state-dir', str(state), '--json',
                                    '--verify').stdout)
    assert status['current']['version'] == '1.1.0' and status['problems'] == []
    assert jetson_edge('ota', 'install', '--state-dir', str(state), '--version', '1.0.0',
                       check=False).returncode == 1                 # anti-rollback
    jetson_edge('ota', 'install', '--state-dir', str(state), '--version', '1.0.0', '--force')
    assert (state / 'current' / 'workspace' / 'VERSION').read_text() == '1.0.0'
    # A tampered bundle on the server is refused (exit 3) and the robot stays on 1.0.0.
    bundle = next((repo / 'targets' / 'jetson-edge' / '1.1.0').glob('*.orin_nano.tar.gz'))
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bundle.write_bytes(bytes(data))
    assert jetson_edge('ota', 'install', '--state-dir', str(state), check=False).returncode == 3
    assert (state / 'current' / 'workspace' / 'VERSION').read_text() == '1.0.0'
    # The kept 1.1.0 slot needs no download to come back.
    jetson_edge('ota', 'rollback', '--state-dir', str(state), '--to', '1.1.0')
    assert (state / 'current' / 'workspace' / 'VERSION').read_text() == '1.1.0'
    log = (state / 'ota.log').read_text()
    assert 'step committing' in log and 'rollback: 1.1.0 is current again' in log


@pytest.mark.long  # the whole sim started from an installed slot
def test_default_health_check_starts_the_real_suite_from_the_slot(tmp_path, static_server):
    plan = jetson_edge('plan', '--profile', 'sim')
    if not plan.stdout.strip():
        pytest.skip('the sim profile has no nodes yet: nothing would publish /diagnostics')
    repo, url = static_server
    keys = tmp_path / 'keys'
    jetson_edge('ota', 'keys', 'init', '--repo', str(repo), '--keys-dir', str(keys))
    src = _release_tree(tmp_path / 'src', '1.0.0')
    jetson_edge('ota', 'publish', '--repo', str(repo), '--keys-dir', str(keys),
                '--version', '1.0.0', '--workspace', str(src / 'workspace'))
    state = tmp_path / 'robot'
    jetson_edge('ota', 'enroll', '--state-dir', str(state), '--repo-url', url,
                '--trusted-root', str(repo / 'metadata' / 'root.json'), '--jetson-model',
                'generic', '--health-check', 'diagnostics:jetson-edge up --profile sim',
                '--health-timeout', '240')
    done = jetson_edge('ota', 'install', '--state-dir', str(state), '--no-progress',
                       check=False)
    assert done.returncode in (0, 4), done.stderr[-3000:]
    if done.returncode == 4:
        pytest.fail(f'the sim suite reported ERROR on /diagnostics: {done.stderr[-2000:]}')
    assert 'none in ERROR' in done.stdout
