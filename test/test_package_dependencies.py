"""Every import of every package has a home: a rosdep key in that package's package.xml, a line
in requirements-distro.txt (what only PyPI has), or a documented platform source (JetPack).

Pure Python, no ROS: the imports are read with ``ast``. The key names were checked against
ros/rosdistro's rosdep/base.yaml and rosdep/python.yaml (see docs/dependencies.md).

Scopes: modules of the Python package (and ``setup.py``) are what the package needs to run or
build, so their keys must be run or build dependencies; ``test/`` and the ``testing.py`` helpers
(imported only by tests) may use test dependencies too.
"""

from __future__ import annotations

import ast
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / 'src'

# Import name -> rosdep key. ROS packages are their own keys (resolved through the distribution
# file); the python3-* keys are in rosdep/python.yaml.
ROSDEP_KEYS = {
    'numpy': 'python3-numpy',
    'cv2': 'python3-opencv',
    'yaml': 'python3-yaml',
    'psutil': 'python3-psutil',
    'serial': 'python3-serial',
    'smbus2': 'python3-smbus2',
    'platformdirs': 'python3-platformdirs',
    'prometheus_client': 'python3-prometheus-client',
    'pynvml': 'python3-pynvml',
    'matplotlib': 'python3-matplotlib',
    'urllib3': 'python3-urllib3',
    'cryptography': 'python3-cryptography',
    'setuptools': 'python3-setuptools',
    'pytest': 'python3-pytest',
    'hypothesis': 'python3-hypothesis',
    'rclpy': 'rclpy',
    'launch': 'launch',
    'launch_ros': 'launch_ros',
    'ament_index_python': 'ament_index_python',
    'builtin_interfaces': 'builtin_interfaces',
    'rcl_interfaces': 'rcl_interfaces',
    'std_msgs': 'std_msgs',
    'sensor_msgs': 'sensor_msgs',
    'diagnostic_msgs': 'diagnostic_msgs',
    'vision_msgs': 'vision_msgs',
    'google': 'python3-protobuf',
}

# Import name -> PyPI distribution, for what rosdep has no usable key for. setup.sh installs
# requirements-distro.txt into the venv beside a sourced distro; the Jetson image installs it too.
PYPI_ONLY = {
    'dpkt': 'dpkt',
    'tuf': 'tuf',
    'securesystemslib': 'securesystemslib',
    # python3-onnxruntime-pip exists, but rosdep runs `pip install -U` into the system Python and
    # ONNX Runtime needs numpy>=1.21.6: on Ubuntu 22.04 (numpy 1.21.5) it would replace the numpy
    # ROS was built against.
    'onnxruntime': 'onnxruntime',
    'mcap': 'mcap',
    'foxglove': 'foxglove-sdk',
    # no python3-rich key in rosdep/python.yaml; Ubuntu's package exists but rosdep cannot name it
    'rich': 'rich',
    # python3-spidev-pip is an end-of-life migration alias in rosdep/python.yaml, and Ubuntu has
    # no python3-spidev; only the SPI transport imports it (lazily, saying how to get it).
    'spidev': 'spidev',
}

# Only the lidar benchmark's comparison with the C++ decoder imports it (lazily, and says how
# to get it); the fuzzing helper imports atheris in its child process, where it has wheels.
# Installed with the test requirements.
TEST_REQUIREMENTS_ONLY = {'velodyne_decoder': 'velodyne-decoder', 'atheris': 'atheris',
                          # independent readers of the recordings jetson-edge record writes
                          'rosbags': 'rosbags', 'mcap_ros2': 'mcap-ros2-support',
                          # the viewer test's own Foxglove WebSocket client
                          'websockets': 'websockets'}

# Optional GPU stacks that come with JetPack or are built on the Jetson: no key, no PyPI line;
# the backends import them lazily and report what is missing. docs/dependencies.md names each.
PLATFORM = {'tensorrt', 'jetson', 'jetson_inference', 'jetson_utils', 'pycuda', 'cuda', 'cupy'}

RUN_TAGS = {'depend', 'exec_depend'}
BUILD_TAGS = {'depend', 'build_depend', 'buildtool_depend'}
TEST_TAGS = RUN_TAGS | {'test_depend'}


@dataclass(frozen=True)
class Import:
    name: str
    path: Path
    line: int

    def where(self) -> str:
        return f'{self.path.relative_to(ROOT)}:{self.line}'


def python_packages() -> list[Path]:
    return sorted(p.parent for p in SRC.glob('*/package.xml') if (p.parent / 'setup.py').exists())


def all_packages() -> list[str]:
    return sorted(p.parent.name for p in SRC.glob('*/package.xml'))


def declared(package: Path) -> dict[str, set[str]]:
    """Tag -> keys of a package.xml (conditions are rosdep's business, the key is declared)."""
    tags: dict[str, set[str]] = {}
    for element in ET.parse(package / 'package.xml').getroot():
        if element.tag.endswith('depend') and element.text:
            tags.setdefault(element.tag, set()).add(element.text.strip())
    return tags


def imports_of(path: Path) -> list[Import]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [Import(a.name.split('.')[0], path, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(Import(node.module.split('.')[0], path, node.lineno))
    return found


def local_modules(package: Path) -> set[str]:
    """Names a file of the package imports from its own tree (its module, test helpers)."""
    names = {p.stem for p in package.rglob('*.py')}
    return names | {p.parent.name for p in package.rglob('__init__.py')}


def scope(package: Path, path: Path) -> str:
    relative = path.relative_to(package)
    if relative.parts[0] == 'test' or path.name == 'testing.py':
        return 'test'
    return 'build' if path.name == 'setup.py' else 'run'


def missing_keys(package: Path) -> list[str]:
    tags = declared(package)
    keys_in = {name: set().union(*(tags.get(t, set()) for t in group))
               for name, group in (('run', RUN_TAGS), ('build', BUILD_TAGS),
                                   ('test', TEST_TAGS | BUILD_TAGS))}
    first_party = set(all_packages())
    local = local_modules(package)
    problems = []
    for path in sorted(package.rglob('*.py')):
        where = scope(package, path)
        first_of_each: dict[str, Import] = {}
        for imp in imports_of(path):
            first_of_each.setdefault(imp.name, imp)
        for imp in first_of_each.values():
            name = imp.name
            if name in sys.stdlib_module_names or name == '__future__' or name == package.name:
                continue
            if name in PLATFORM or name in PYPI_ONLY or name in TEST_REQUIREMENTS_ONLY:
                continue
            if name in first_party:
                key = name
            elif name in local:
                continue
            elif name in ROSDEP_KEYS:
                key = ROSDEP_KEYS[name]
            else:
                problems.append(f'{imp.where()}: `{name}` is in no table of this test')
                continue
            if key not in keys_in[where]:
                tag = {'run': 'exec_depend', 'build': 'buildtool_depend'}.get(where, 'test_depend')
                problems.append(f'{imp.where()}: `{name}` needs <{tag}>{key}</{tag}> '
                                f'in {package.name}/package.xml')
    return problems


@pytest.mark.parametrize('package', python_packages(), ids=lambda p: p.name)
def test_every_import_has_a_key_in_its_package_xml(package):
    assert missing_keys(package) == []


OFF_ROBOT = {'jetson_edge_sim', 'jetson_edge_bench'}


@pytest.mark.parametrize('package', [p for p in python_packages() if p.name not in OFF_ROBOT],
                         ids=lambda p: p.name)
def test_runtime_packages_neither_import_nor_depend_on_sim_or_bench(package):
    """A robot installs neither: `colcon build --packages-up-to jetson_edge_bringup` must not
    pull them in, and no runtime module may need them."""
    declared_keys = set().union(*declared(package).values())
    assert not declared_keys & OFF_ROBOT
    offenders = [imp.where() for path in package.rglob('*.py') for imp in imports_of(path)
                 if imp.name in OFF_ROBOT]
    assert offenders == []


def requirement_names(path: Path) -> dict[str, Requirement]:
    lines = (line.split('#')[0].strip() for line in path.read_text().splitlines())
    reqs = [Requirement(line) for line in lines if line and not line.startswith('-')]
    return {re.sub(r'[-_.]+', '-', r.name).lower(): r for r in reqs}


def test_every_declared_python_key_is_a_checked_rosdep_key():
    """A key rosdep cannot resolve (python3-dpkt, say) stops `rosdep install` for everyone."""
    checked = set(ROSDEP_KEYS.values())
    for package in SRC.glob('*/package.xml'):
        keys = set().union(*declared(package.parent).values())
        unknown = {k for k in keys if k.startswith('python') and k not in checked}
        assert not unknown, f'{package.parent.name}: {sorted(unknown)} not in ROSDEP_KEYS'


def test_pypi_only_imports_are_in_the_distro_requirements():
    distro = requirement_names(ROOT / 'requirements-distro.txt')
    dev = requirement_names(ROOT / 'requirements.txt')
    for name, dist in PYPI_ONLY.items():
        assert dist in distro, f'{dist} (import {name}) missing from requirements-distro.txt'
        assert dist in dev, f'{dist} (import {name}) missing from requirements.txt'
    test = requirement_names(ROOT / 'requirements-test.txt')
    assert set(TEST_REQUIREMENTS_ONLY.values()) <= set(test)


def test_distro_requirements_never_replace_numpy_or_opencv():
    distro = requirement_names(ROOT / 'requirements-distro.txt')
    assert not {'numpy', 'opencv-python', 'opencv-python-headless'} & set(distro)


def test_platform_imports_are_documented():
    text = (ROOT / 'docs' / 'dependencies.md').read_text()
    undocumented = sorted(name for name in PLATFORM if f'`{name}`' not in text)
    assert undocumented == []


def test_the_check_catches_an_undeclared_import(tmp_path, monkeypatch):
    package = tmp_path / 'src' / 'jetson_edge_probe'
    (package / 'jetson_edge_probe').mkdir(parents=True)
    (package / 'package.xml').write_text(
        '<package format="3"><name>jetson_edge_probe</name>'
        '<exec_depend>python3-numpy</exec_depend><test_depend>python3-yaml</test_depend></package>')
    (package / 'jetson_edge_probe' / 'core.py').write_text(
        'import numpy\nimport yaml\nfrom jetson_edge_common import qos\nimport mystery_lib\n')
    monkeypatch.setattr(sys.modules[__name__], 'ROOT', tmp_path)
    problems = missing_keys(package)
    assert len(problems) == 3, problems
    assert 'python3-yaml' in problems[0] and 'jetson_edge_common' in problems[1]
    assert 'mystery_lib' in problems[2]


# --- requirement files: ranges for every supported Python, exact pins in the lock ------------

RANGED = ['requirements.txt', 'requirements-build.txt', 'requirements-test.txt',
          'requirements-distro.txt']


@pytest.mark.parametrize('name', RANGED)
def test_requirements_are_ranges_not_pins(name):
    for dist, req in requirement_names(ROOT / name).items():
        operators = {spec.operator for spec in req.specifier}
        assert '==' not in operators and '===' not in operators, f'{name}: {req} is a pin'
        assert any(op in {'>=', '~='} for op in operators), f'{name}: {req} has no lower bound'


def test_ranges_admit_the_python_3_10_stack_of_jetpack_6():
    """numpy 1.26 and OpenCV 4.8 (Python 3.10) as much as today's numpy 2 and OpenCV 5."""
    reqs = requirement_names(ROOT / 'requirements.txt')
    for dist, versions in {'numpy': ['1.26.4', '2.4.6'],
                           'opencv-python-headless': ['4.8.1.78', '5.0.0.93']}.items():
        for version in versions:
            assert reqs[dist].specifier.contains(Version(version)), f'{dist} {version}'


def test_the_lock_pins_every_ranged_requirement_within_its_range():
    lock = requirement_names(ROOT / 'requirements.lock')
    for name in ['requirements.txt', 'requirements-build.txt', 'requirements-test.txt']:
        for dist, req in requirement_names(ROOT / name).items():
            if req.marker and not req.marker.evaluate():
                continue
            assert dist in lock, f'{dist} ({name}) is not pinned in requirements.lock'
            pinned = next(iter(lock[dist].specifier)).version
            assert req.specifier.contains(Version(pinned)), f'lock {dist}=={pinned} vs {req}'
