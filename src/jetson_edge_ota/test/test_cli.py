"""The `ota` verbs through register(): publisher and robot sides, exit codes, logging."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from ota_testing import RepoServer, assert_on_complete_release, make_sources

from jetson_edge_ota.cli import register


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog='jetson-edge')
    register(parser.add_subparsers(dest='command', required=True))
    args = parser.parse_args(['ota', *argv])
    return args.func(args)


@pytest.fixture
def published(tmp_path: Path):
    repo, keys = str(tmp_path / 'repo'), str(tmp_path / 'keys')
    assert run('keys', 'init', '--repo', repo, '--keys-dir', keys, '--keys', 'root=3',
               '--threshold', 'root=2', '--expiry', 'timestamp=6h') == 0
    for version in ('1.0.0', '1.1.0'):
        sources = make_sources(tmp_path, version, engines_for=('orin_nano',))
        assert run('publish', '--repo', repo, '--keys-dir', keys, '--version', version,
                   '--workspace', str(sources.workspace), '--config', str(sources.config),
                   '--models', str(sources.models),
                   '--engines', f'orin_nano={sources.engines["orin_nano"]}') == 0
    server = RepoServer(tmp_path / 'repo')
    yield tmp_path, server
    server.close()


def test_cli_publish_enroll_install_status_rollback(published, capsys):
    tmp_path, server = published
    root = str(tmp_path / 'robot')
    trusted = str(tmp_path / 'repo' / 'metadata' / 'root.json')
    assert json.loads(Path(trusted).read_text())['signed']['roles']['root']['threshold'] == 2
    assert run('enroll', '--state-dir', root, '--repo-url', server.url, '--trusted-root', trusted,
               '--jetson-model', 'orin_nano', '--health-check', 'cmd:test -f release.json',
               '--keep', '1') == 0
    capsys.readouterr()
    assert run('check', '--state-dir', root, '--json') == 0
    check = json.loads(capsys.readouterr().out)
    assert check == {'installed': None, 'available': '1.1.0', 'jetson_model': 'orin_nano',
                     'update_available': True}
    assert run('install', '--state-dir', root, '--version', '1.0.0', '--no-progress') == 0
    assert run('install', '--state-dir', root) == 0
    out = capsys.readouterr()
    assert 'installed and committed 1.1.0 (was 1.0.0)' in out.out
    assert 'download: 100%' in out.err                     # progress (non-TTY form)
    assert_on_complete_release(Path(root), '1.1.0')
    assert (Path(root) / 'current' / 'engines' / 'detector.engine').is_file()
    assert run('status', '--state-dir', root, '--json', '--verify') == 0
    status = json.loads(capsys.readouterr().out)
    assert status['current']['version'] == '1.1.0' and status['problems'] == []
    assert [p['version'] for p in status['previous']] == ['1.0.0']
    assert run('rollback', '--state-dir', root) == 0
    assert_on_complete_release(Path(root), '1.0.0')
    log = (Path(root) / 'ota.log').read_text()
    for step in ('step downloading', 'step extracting', 'step sealed', 'step switching',
                 'step trial', 'step health', 'step committing', 'rollback: 1.0.0'):
        assert step in log


def test_cli_exit_codes_name_the_failure(published, capsys):
    tmp_path, server = published
    root = str(tmp_path / 'robot')
    trusted = str(tmp_path / 'repo' / 'metadata' / 'root.json')
    run('enroll', '--state-dir', root, '--repo-url', server.url, '--trusted-root', trusted,
        '--jetson-model', 'generic', '--health-check', 'none')
    assert run('install', '--state-dir', root, '--health-check', 'cmd:false') == 4
    assert 'failed its health check' in capsys.readouterr().err
    (tmp_path / 'repo' / 'metadata' / 'timestamp.json').write_text('{"signed": {}}')
    assert run('install', '--state-dir', root) == 3
    assert 'refreshing repository metadata' in capsys.readouterr().err
    assert run('keys', 'init', '--repo', str(tmp_path / 'r2'), '--keys-dir',
               str(tmp_path / 'k2'), '--threshold', 'root=2') == 2
    assert 'threshold 2 needs 1 <= threshold <= keys (1)' in capsys.readouterr().err
    assert run('install', '--state-dir', str(tmp_path / 'not-enrolled')) == 2


def test_cli_refuses_to_pin_a_root_without_its_signatures(published, capsys):
    tmp_path, server = published
    root_json = json.loads((tmp_path / 'repo' / 'metadata' / 'root.json').read_text())
    root_json['signatures'] = root_json['signatures'][:1]          # threshold is 2
    forged = tmp_path / 'forged-root.json'
    forged.write_text(json.dumps(root_json))
    assert run('enroll', '--state-dir', str(tmp_path / 'robot'), '--repo-url', server.url,
               '--trusted-root', str(forged)) == 3
    assert 'not a valid, self-signed TUF root' in capsys.readouterr().err
