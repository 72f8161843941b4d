"""scripts/setup.sh stops at a failed install: non-zero exit, pip's own error on stderr, and the
step not marked done, so the next run tries it again.

Runs the real script in a temporary clone of the repository's setup inputs, with no ROS sourced
(the PyPI path) and pip kept off the network: the requirement files name local wheels built
here, one installable and one that is not (it requires a Python that no machine has).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP_INPUTS = ['scripts', 'requirements.txt', 'requirements-build.txt', 'requirements-ros.txt',
                'requirements-test.txt', 'requirements.lock', 'colcon.meta']


def build_wheel(folder: Path, name: str, *, requires_python: str) -> Path:
    """A minimal pure-Python wheel (one module) with the given Requires-Python."""
    version = '1.0'
    dist_info = f'{name}-{version}.dist-info'
    files = {
        f'{name}.py': b'',
        f'{dist_info}/METADATA': (f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n'
                                  f'Requires-Python: {requires_python}\n').encode(),
        f'{dist_info}/WHEEL': (b'Wheel-Version: 1.0\nGenerator: jetson_edge-test\n'
                               b'Root-Is-Purelib: true\nTag: py3-none-any\n'),
    }
    record = ''.join(
        f'{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()},'
        f'{len(data)}\n' for path, data in files.items()) + f'{dist_info}/RECORD,,\n'
    wheel = folder / f'{name}-{version}-py3-none-any.whl'
    with zipfile.ZipFile(wheel, 'w') as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(f'{dist_info}/RECORD', record)
    return wheel


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The setup inputs of this checkout, copied, with an empty src/ (nothing to build)."""
    repo = tmp_path / 'repo'
    repo.mkdir()
    for name in SETUP_INPUTS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name)
        else:
            shutil.copy2(source, repo / name)
    (repo / 'src').mkdir()
    wheels = tmp_path / 'wheels'
    wheels.mkdir()
    build_wheel(wheels, 'jetson_edge_installable', requires_python='>=3')
    build_wheel(wheels, 'jetson_edge_uninstallable', requires_python='<3')
    return repo


def run_setup(repo: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(('ROS_', 'AMENT_', 'COLCON', 'VIRTUAL_ENV', 'PIP_'))}
    env.update(PIP_NO_INDEX='1', PIP_FIND_LINKS=str(repo.parent / 'wheels'),
               PIP_CONFIG_FILE=os.devnull)
    return subprocess.run(['bash', 'scripts/setup.sh'], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def markers(repo: Path) -> set[str]:
    state = repo / '.venv' / '.jetson_edge'
    return {path.name for path in state.iterdir()} if state.is_dir() else set()


def test_a_failed_first_install_stops_setup_unmarked(clone):
    (clone / 'requirements-ros.txt').write_text('jetson_edge_uninstallable\n')
    done = run_setup(clone)
    assert done.returncode != 0, done.stderr
    assert 'requires a different Python' in done.stderr, done.stderr
    assert 'jetson-edge-uninstallable' in done.stderr.lower().replace('_', '-')
    assert done.stderr.rstrip().endswith('step is not marked done'), done.stderr
    assert 'FAILED in step "ros"' in done.stderr
    assert markers(clone) == set(), 'no step may be marked done after the first one failed'
    assert not (clone / 'install').exists(), 'setup went on to build after a failed install'


def test_a_failed_later_install_keeps_the_earlier_marker_only(clone):
    (clone / 'requirements-ros.txt').write_text('jetson_edge_installable\n')
    (clone / 'requirements.txt').write_text('jetson_edge_uninstallable\n')
    (clone / 'requirements-build.txt').write_text('')
    done = run_setup(clone)
    assert done.returncode != 0, done.stderr
    assert 'requires a different Python' in done.stderr, done.stderr
    assert 'FAILED in step "python"' in done.stderr
    assert markers(clone) == {'ros'}

    again = run_setup(clone)  # the failed step is retried, not skipped as done
    assert again.returncode != 0
    assert 'installing python' in again.stderr and 'installing ros' not in again.stderr
