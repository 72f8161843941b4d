"""The Dockerfiles: hadolint-clean under docker/hadolint.yaml, pinned bases, non-root final
users, and every file they copy present in the build context.

No Docker engine runs these tests: they lint and read the files; no image is built here.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from pathlib import Path

import pytest

from deploy_checks import DOCKER, ROOT, load_yaml

DOCKERFILES = {'jetson': DOCKER / 'Dockerfile.jetson', 'x86': DOCKER / 'Dockerfile.x86'}
HADOLINT_CONFIG = DOCKER / 'hadolint.yaml'


def hadolint(executable: str, dockerfile: Path) -> tuple[int, list[dict]]:
    done = subprocess.run(
        [executable, '--config', str(HADOLINT_CONFIG), '--format', 'json', '--no-color',
         str(dockerfile)],
        capture_output=True, text=True, timeout=60, check=False)
    if not done.stdout.strip():
        raise AssertionError(f'hadolint printed nothing (exit {done.returncode}): {done.stderr}')
    return done.returncode, json.loads(done.stdout)


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    joined: list[str] = []
    pending = ''
    for line in dockerfile.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith('#')):
            continue
        if pending and stripped.startswith('#'):
            continue
        if stripped.endswith('\\'):
            pending += stripped[:-1] + ' '
            continue
        joined.append(pending + stripped)
        pending = ''
    result = []
    for text in joined:
        keyword, _, rest = text.partition(' ')
        result.append((keyword.upper(), rest.strip()))
    return result


def global_args(dockerfile: Path) -> dict[str, str]:
    """ARG defaults declared before the first FROM (the ones FROM lines may use)."""
    values = {}
    for keyword, rest in instructions(dockerfile):
        if keyword == 'FROM':
            break
        if keyword == 'ARG' and '=' in rest:
            name, _, default = rest.partition('=')
            values[name] = default.strip('"')
    return values


def stages(dockerfile: Path) -> list[tuple[str, str]]:
    """(base, alias) for every FROM, with global ARG defaults substituted into the base."""
    args = global_args(dockerfile)
    result = []
    for keyword, rest in instructions(dockerfile):
        if keyword != 'FROM':
            continue
        parts = [p for p in rest.split() if not p.startswith('--')]
        base = re.sub(r'\$\{(\w+)\}', lambda m: args.get(m.group(1), m.group(0)), parts[0])
        alias = parts[2] if len(parts) >= 3 and parts[1].upper() == 'AS' else ''
        result.append((base, alias))
    return result


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / '.dockerignore').read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith('#')]


def ignored_by_dockerignore(relative: str) -> bool:
    for pattern in dockerignore_patterns():
        bare = pattern.removeprefix('**/')
        if fnmatch.fnmatch(relative, pattern) or relative.split('/')[0] == pattern \
                or fnmatch.fnmatch(Path(relative).name, bare):
            return True
    return False


@pytest.mark.parametrize('name', sorted(DOCKERFILES))
def test_dockerfile_has_no_hadolint_findings(tool, name):
    code, findings = hadolint(tool('hadolint'), DOCKERFILES[name])
    report = '\n'.join(f"{f['file']}:{f['line']} {f['code']} {f['level']}: {f['message']}"
                       for f in findings)
    assert findings == [], f'hadolint findings:\n{report}'
    assert code == 0


def test_hadolint_config_still_reports_what_it_should(tool, tmp_path):
    """The config must not silence hadolint: a careless Dockerfile still fails under it."""
    careless = tmp_path / 'Dockerfile'
    careless.write_text('FROM ubuntu:latest\n'
                        'RUN cd /tmp && pip install requests\n'
                        'USER root\n')
    code, findings = hadolint(tool('hadolint'), careless)
    codes = {f['code'] for f in findings}
    assert code != 0
    assert {'DL3007', 'DL3003', 'DL3013', 'DL3002'} <= codes, codes


def test_only_the_documented_rules_are_ignored():
    config = load_yaml(HADOLINT_CONFIG)
    assert config['ignored'] == ['DL3008']
    assert config['failure-threshold'] == 'style'
    inline = {name: re.findall(r'#\s*hadolint ignore=(\S+)', path.read_text())
              for name, path in DOCKERFILES.items()}
    # The one inline exception: FROM ros-${ROS_DISTRO} names a stage of the same file.
    assert inline == {'jetson': ['DL3006'], 'x86': []}


@pytest.mark.parametrize('name', sorted(DOCKERFILES))
def test_base_images_are_pinned(name):
    aliases = set()
    for base, alias in stages(DOCKERFILES[name]):
        if base in aliases or base.startswith('ros-${'):
            aliases.add(alias)
            continue
        repository, _, tag = base.rpartition(':')
        assert repository and tag and tag != 'latest', f'{base} is not pinned to a version tag'
        assert re.search(r'\d', tag), f'{base}: the tag names no version'
        aliases.add(alias)


def test_jetson_image_is_jetpack_6_with_jazzy_default_and_humble_option():
    path = DOCKERFILES['jetson']
    args = global_args(path)
    assert args['ROS_DISTRO'] == 'jazzy'
    assert re.fullmatch(r'nvcr\.io/nvidia/l4t-jetpack:r36\.\d+\.\d+', args['L4T_JETPACK_IMAGE'])
    aliases = {alias for _, alias in stages(path)}
    assert {'ros-humble', 'ros-jazzy', 'suite-base', 'runtime'} <= aliases
    text = path.read_text()
    assert 'ros-humble-ros-base' in text            # Humble: binaries for Ubuntu 22.04
    assert 'rosinstall_generator --rosdistro jazzy' in text   # Jazzy: built from source
    assert 'python3-libnvinfer' in text             # TensorRT from JetPack
    assert 'colcon build' in text
    assert stages(path)[-1][1] == 'runtime', 'the runtime stage must be the default target'


def test_x86_image_reuses_the_project_setup_script():
    path = DOCKERFILES['x86']
    runs = [rest for keyword, rest in instructions(path) if keyword == 'RUN']
    assert sum('scripts/setup.sh' in run for run in runs) == 2, runs
    base = stages(path)[0][0]
    assert base.startswith('python:3.11.'), 'the PyPI ROS 2 wheels need Python 3.11'


@pytest.mark.parametrize('name', sorted(DOCKERFILES))
def test_final_stage_runs_as_an_unprivileged_user(name):
    final_stage: list[tuple[str, str]] = []
    for keyword, rest in instructions(DOCKERFILES[name]):
        if keyword == 'FROM':
            final_stage = []
        final_stage.append((keyword, rest))
    users = [rest for keyword, rest in final_stage if keyword == 'USER']
    assert users, 'the final stage never sets USER, so it runs as root'
    uid = users[-1].split(':')[0]
    assert uid.isdigit() and int(uid) != 0, users[-1]


@pytest.mark.parametrize('name', sorted(DOCKERFILES))
def test_copied_files_exist_in_the_build_context(name):
    for keyword, rest in instructions(DOCKERFILES[name]):
        if keyword != 'COPY' or '--from=' in rest:
            continue
        sources = [p for p in rest.split() if not p.startswith('--')][:-1]
        for source in sources:
            if source == '.':
                continue
            assert (ROOT / source).exists(), f'COPY {source}: not in the repository'
            assert not ignored_by_dockerignore(source), f'COPY {source}: excluded by .dockerignore'


def test_dockerignore_keeps_local_environments_out_of_the_context():
    for local in ('.venv', 'build', 'install', 'log', '.git'):
        assert ignored_by_dockerignore(local), local
    for needed in ('src', 'scripts', 'config', 'launch', 'docker/entrypoint.sh'):
        assert not ignored_by_dockerignore(needed), needed


def test_entrypoint_is_shellcheck_clean(tool):
    script = DOCKER / 'entrypoint.sh'
    done = subprocess.run([tool('shellcheck'), '--severity=style', str(script)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert script.stat().st_mode & 0o111, 'the entry point must be executable'

