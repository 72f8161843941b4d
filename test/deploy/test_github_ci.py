""".github/workflows/ci.yml: actionlint-clean (with shellcheck on its run: scripts when that is
installed), valid under the GitHub workflow schema, and doing what the project promises: the
README's test command against apt-installed Jazzy and Humble (set up by the official ROS action)
and on Python 3.11 with ROS from PyPI, and every action pinned to an exact release.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from deploy_checks import ROOT, find_tool, load_yaml, schema_errors, vendored_schema

WORKFLOW = ROOT / '.github' / 'workflows' / 'ci.yml'
EXACT_VERSION = re.compile(r'(v?\d+\.\d+\.\d+|[0-9a-f]{40})')


def actionlint(executable: str, workflow: Path) -> tuple[int, list[dict], str]:
    env = dict(os.environ)
    shellcheck = find_tool('shellcheck')
    if shellcheck:  # actionlint runs shellcheck on run: scripts when it finds it on PATH
        env['PATH'] = f'{Path(shellcheck).parent}{os.pathsep}{env.get("PATH", "")}'
    done = subprocess.run([executable, '-format', '{{json .}}', '-no-color', str(workflow)],
                          capture_output=True, text=True, timeout=120, cwd=workflow.parent,
                          env=env, check=False)
    findings = json.loads(done.stdout) if done.stdout.strip() else []
    return done.returncode, findings, done.stderr


@pytest.fixture(scope='module')
def workflow() -> dict:
    return load_yaml(WORKFLOW)


def steps_of(job: dict) -> list[dict]:
    return job.get('steps', [])


def uses_of(job: dict) -> list[str]:
    return [step['uses'] for step in steps_of(job) if 'uses' in step]


def test_workflow_has_no_actionlint_findings(tool):
    code, findings, stderr = actionlint(tool('actionlint'), WORKFLOW)
    report = '\n'.join(f"{f['filepath']}:{f['line']}:{f['column']} [{f['kind']}] {f['message']}"
                       for f in findings)
    assert findings == [], f'actionlint findings:\n{report}'
    assert code == 0, stderr


def test_actionlint_reports_a_broken_workflow(tool, tmp_path):
    """The check can fail: a typo'd matrix key and an unknown runner label are both caught."""
    broken = tmp_path / 'broken.yml'
    broken.write_text(
        'on: push\n'
        'jobs:\n'
        '  build:\n'
        '    runs-on: ${{ matrix.os }}\n'
        '    strategy:\n'
        '      matrix:\n'
        '        os: [ubuntu-24.04]\n'
        '    steps:\n'
        '      - run: echo "${{ matrix.distro }}"\n')
    code, findings, _ = actionlint(tool('actionlint'), broken)
    assert code != 0
    assert any('distro' in f['message'] for f in findings), findings


def test_workflow_is_valid_under_the_github_workflow_schema(workflow):
    assert schema_errors(vendored_schema('github-workflows'), workflow) == []


def test_runs_on_pushes_and_pull_requests_with_read_only_token(workflow):
    assert {'push', 'pull_request'} <= set(workflow['on'])
    assert workflow['permissions'] == {'contents': 'read'}


def test_colcon_job_sets_up_jazzy_and_humble_with_the_official_ros_action(workflow):
    job = workflow['jobs']['colcon']
    matrix = job['strategy']['matrix']['include']
    assert {(entry['ros-distro'], entry['os']) for entry in matrix} == {
        ('jazzy', 'ubuntu-24.04'), ('humble', 'ubuntu-22.04')}
    assert job['runs-on'] == '${{ matrix.os }}'
    setup = next(s for s in steps_of(job) if s.get('uses', '').startswith('ros-tooling/setup-ros'))
    assert setup['with']['required-ros-distributions'] == '${{ matrix.ros-distro }}'


def test_colcon_job_runs_the_readme_test_command_with_the_distro_sourced(workflow):
    """Installing what the tests need is the setup's job there (rosdep, requirements-distro.txt):
    the workflow refreshes rosdep's database, sources the distro and runs the README command."""
    job = workflow['jobs']['colcon']
    steps = steps_of(job)
    setup_ros = next(i for i, s in enumerate(steps)
                     if s.get('uses', '').startswith('ros-tooling/setup-ros'))
    command = next(i for i, s in enumerate(steps) if 'scripts/test.sh' in s.get('run', ''))
    assert setup_ros < command
    lines = [line.strip() for line in steps[command]['run'].splitlines() if line.strip()]
    assert lines[0] == 'source "/opt/ros/${{ matrix.ros-distro }}/setup.bash"'
    assert any(line.startswith('rosdep update') for line in lines[:-1])
    assert lines[-1] == 'bash scripts/test.sh'
    assert steps[command].get('shell') == 'bash'


def test_setup_installs_the_distro_dependencies_with_rosdep_and_requirements_distro():
    setup = (ROOT / 'scripts' / 'setup.sh').read_text()
    assert 'rosdep install --from-paths "$ROOT/src" --ignore-src -y' in setup
    assert '"$ROOT/requirements-distro.txt"' in setup


def test_no_job_installs_numpy_or_opencv_over_a_distro(workflow):
    """The distro's numpy and OpenCV stay: ROS's compiled modules are built against them."""
    for step in steps_of(workflow['jobs']['colcon']):
        installs = [line for line in step.get('run', '').splitlines()
                    if 'pip install' in line or 'apt-get install' in line]
        for line in installs:
            assert not re.search(r'numpy|opencv', line, re.IGNORECASE), line


def test_lint_job_installs_the_locked_versions(workflow):
    runs = ' '.join(step.get('run', '') for step in steps_of(workflow['jobs']['lint']))
    assert 'pip install -c requirements.lock -r requirements-test.txt' in runs


def test_a_job_runs_the_readme_test_command_on_python_3_11(workflow):
    readme_command = 'scripts/test.sh'
    assert readme_command in (ROOT / 'README.md').read_text()
    job = workflow['jobs']['test-command']
    python = next(s for s in steps_of(job) if s.get('uses', '').startswith('actions/setup-python'))
    versions = str(python['with']['python-version']).split()
    assert versions[-1] == '3.11', 'the last version listed is the default python'
    assert '3.10' in versions, 'the pure-core run under JetPack 6\'s Python needs 3.10'
    assert job['runs-on'].startswith('ubuntu-')
    runs = [step.get('run', '').strip() for step in steps_of(job)]
    assert f'bash {readme_command}' in runs and f'bash {readme_command} --long' in runs, runs


def test_every_action_is_pinned_to_an_exact_release(workflow):
    for name, job in workflow['jobs'].items():
        for use in uses_of(job):
            action, _, ref = use.partition('@')
            assert EXACT_VERSION.fullmatch(ref), f'{name}: {use} floats; pin a release or a commit'
