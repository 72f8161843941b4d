"""scripts/setup.sh stops at a failed install: non-zero exit, pip's own error on stderr, and the
step not marked done, so the next run tries it again.

Runs the real script in a temporary clone of the repository's setup inputs, with no ROS sourced
(the PyPI path) or with a stand-in distro, and pip kept off the network: the requirement files
name local wheels built here, one installable and one that is not (it requires a Python that no
machine has).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy
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
    def digest(data: bytes) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    record = ''.join(f'{path},sha256={digest(data)},{len(data)}\n' for path, data in files.items())
    record += f'{dist_info}/RECORD,,\n'
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


def run_setup(repo: Path, *,
              extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(('ROS_', 'AMENT_', 'COLCON', 'VIRTUAL_ENV', 'PIP_', 'PYTHONPATH'))}
    env.update(PIP_NO_INDEX='1', PIP_FIND_LINKS=str(repo.parent / 'wheels'),
               PIP_CONFIG_FILE=os.devnull, **(extra_env or {}))
    return subprocess.run(['bash', 'scripts/setup.sh'], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


STEPS = {'ros', 'python', 'test', 'rosdep', 'build'}


def markers(repo: Path) -> set[str]:
    """The steps marked done (the state folder also keeps setup's working files)."""
    state = repo / '.venv' / '.jetson_edge'
    if not state.is_dir():
        return set()
    return {path.name for path in state.iterdir() if path.name in STEPS}


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


@pytest.mark.long  # one more failed set-up in a temporary clone; the first-install case stays in the default run
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


# --- with a sourced distro -------------------------------------------------------------------
# rosdep cannot install system packages on this machine; a stand-in takes its place on PATH and
# fails the way a real one does before `rosdep init`. "The distro" is this Python (it has rclpy).

ROSDEP_NOT_INITIALIZED = '''#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/calls"
cat >&2 <<'MSG'
ERROR: your rosdep installation has not been initialized yet.  Please run:

    sudo rosdep init
    rosdep update

MSG
exit 1
'''

ROSDEP_INSTALLS = '''#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/calls"
echo "#All required rosdeps installed successfully"
'''


def distro_clone(clone: Path, rosdep_script: str) -> tuple[Path, dict[str, str]]:
    for manifest in (ROOT / 'src').glob('*/package.xml'):
        (clone / 'src' / manifest.parent.name).mkdir()
        shutil.copy2(manifest, clone / 'src' / manifest.parent.name / 'package.xml')
    shutil.copy2(ROOT / 'requirements-distro.txt', clone / 'requirements-distro.txt')
    tools = clone.parent / 'distro-bin'
    tools.mkdir()
    (tools / 'python3').write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (tools / 'rosdep').write_text(rosdep_script)
    for tool in tools.iterdir():
        tool.chmod(0o755)
    return tools, {'ROS_DISTRO': 'jazzy', 'PATH': f'{tools}{os.pathsep}{os.environ["PATH"]}'}


@pytest.mark.long  # one more failed set-up in a temporary clone; the first-install case stays in the default run
def test_a_failed_rosdep_install_stops_setup_unmarked(clone):
    tools, distro = distro_clone(clone, ROSDEP_NOT_INITIALIZED)
    done = run_setup(clone, extra_env=distro)
    assert done.returncode != 0, done.stderr
    assert 'rosdep installation has not been initialized' in done.stderr
    assert 'FAILED in step "rosdep"' in done.stderr
    assert (tools / 'calls').read_text().split() == [
        'install', '--from-paths', str(clone / 'src'), '--ignore-src', '-y']
    assert markers(clone) == set()


@pytest.mark.long  # one more failed set-up in a temporary clone; the first-install case stays in the default run
def test_with_a_distro_only_the_distro_requirements_go_to_the_venv_and_numpy_is_pinned(clone):
    """After rosdep, a failed install of requirements-distro.txt stops setup; the distro's numpy
    is a constraint of that install."""
    tools, distro = distro_clone(clone, ROSDEP_INSTALLS)
    (clone / 'requirements-distro.txt').write_text('jetson_edge_uninstallable\n')
    (clone / 'requirements-build.txt').write_text('')
    done = run_setup(clone, extra_env=distro)
    assert done.returncode != 0, done.stderr
    assert 'requires a different Python' in done.stderr
    assert 'FAILED in step "python"' in done.stderr
    installing = next(line for line in done.stderr.splitlines()
                      if line.startswith('[setup] installing python'))
    assert '/requirements-distro.txt' in installing and '/requirements.txt' not in installing
    assert markers(clone) == {'rosdep'}
    constraints = (clone / '.venv' / '.jetson_edge' / 'distro-constraints.txt').read_text()
    assert constraints.split() == [f'numpy=={numpy.__version__}']


@pytest.mark.long  # one more failed set-up in a temporary clone; the first-install case stays in the default run
def test_a_failed_colcon_build_stops_setup_unmarked(clone):
    """colcon from the environment running the tests; a package whose setup.py fails."""
    (clone / 'requirements-ros.txt').write_text('jetson_edge_installable\n')
    for name in ['requirements.txt', 'requirements-build.txt']:
        (clone / name).write_text('')
    package = clone / 'src' / 'jetson_edge_broken'
    package.mkdir()
    (package / 'package.xml').write_text(
        '<?xml version="1.0"?>\n<package format="3"><name>jetson_edge_broken</name>'
        '<version>0.0.0</version><description>fails to build</description>'
        '<maintainer email="dev@jetson-edge.org">jetson_edge developers</maintainer>'
        '<license>Apache-2.0</license><export><build_type>ament_python</build_type></export>'
        '</package>\n')
    (package / 'setup.py').write_text("raise SystemExit('broken on purpose')\n")
    tools = Path(sys.executable).parent
    # vision_msgs from the environment running the tests, so only src/ is built
    done = run_setup(clone, extra_env={'PATH': f'{os.environ["PATH"]}{os.pathsep}{tools}',
                                       'AMENT_PREFIX_PATH': os.environ['AMENT_PREFIX_PATH']})
    assert done.returncode != 0, done.stderr
    assert '[setup] vision_msgs found in ' in done.stderr and '(src)' in done.stderr
    assert 'Failed   <<< jetson_edge_broken' in done.stderr
    assert done.stderr.count('FAILED in step "colcon build"') == 1
    assert markers(clone) == {'ros', 'python'}


@pytest.mark.long  # one more failed set-up in a temporary clone; the first-install case stays in the default run
def test_no_vision_msgs_anywhere_and_no_copy_to_build_stops_setup_unmarked(clone):
    """Neither the environment nor third_party/ (absent from the clone) has vision_msgs."""
    (clone / 'requirements-ros.txt').write_text('jetson_edge_installable\n')
    for name in ['requirements.txt', 'requirements-build.txt']:
        (clone / name).write_text('')
    done = run_setup(clone)
    assert done.returncode != 0, done.stderr
    assert 'no vision_msgs installed and third_party/vision_msgs/package.xml missing' in done.stderr
    assert 'FAILED in step "find vision_msgs"' in done.stderr
    assert markers(clone) == {'ros', 'python'}


@pytest.mark.long  # one more failed set-up in a temporary clone; the first-install case stays in the default run
def test_an_interface_package_that_lost_a_message_is_built_from_scratch(clone):
    """rosidl would leave the removed message's entry points in the rebuilt Python extension."""
    (clone / 'requirements-ros.txt').write_text('jetson_edge_installable\n')
    for name in ['requirements.txt', 'requirements-build.txt']:
        (clone / name).write_text('')
    messages = clone / 'src' / 'jetson_edge_probe_msgs' / 'msg'  # no package.xml: colcon skips it
    messages.mkdir(parents=True)
    (messages / 'Kept.msg').write_text('int32 a\n')
    (messages / 'Removed.msg').write_text('int32 b\n')
    stale = clone / 'build' / 'jetson_edge_probe_msgs' / 'stale'
    tools = Path(sys.executable).parent
    env = {'PATH': f'{os.environ["PATH"]}{os.pathsep}{tools}',
           'AMENT_PREFIX_PATH': os.environ['AMENT_PREFIX_PATH']}

    stale.parent.mkdir(parents=True)
    stale.touch()
    first = run_setup(clone, extra_env=env)  # built before its list was recorded: from scratch
    assert first.returncode == 0, first.stderr
    assert 'jetson_edge_probe_msgs: message list changed' in first.stderr and not stale.exists()

    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.touch()
    (clone / 'src' / 'jetson_edge_probe_msgs' / 'README').write_text('a change, same messages\n')
    same = run_setup(clone, extra_env=env)
    assert same.returncode == 0 and '[setup] colcon build' in same.stderr, same.stderr
    assert 'message list changed' not in same.stderr and stale.exists()

    (messages / 'Removed.msg').unlink()
    shrunk = run_setup(clone, extra_env=env)
    assert shrunk.returncode == 0, shrunk.stderr
    assert 'jetson_edge_probe_msgs: message list changed' in shrunk.stderr and not stale.exists()
