"""Helpers for tests: the real-data fixtures, and the ROS-import check of pure cores.

Two homes for real data, with the same layout (``lidar/``, ``images/``, ``models/``):

- ``test/data/`` in the repository: what is small enough to commit (the VLP-16 capture, the
  photos; sources and licences in its README). :func:`committed_fixture` finds it and never
  skips: a missing file there is a broken checkout, and the test fails saying so.
- ``../shared/fixtures/`` beside the repository: what is too large to commit (the models).
  :func:`fixture_path` skips the calling test with the reason where it is absent (a user's
  clone, a public CI run). ``JETSON_EDGE_FIXTURES`` overrides its location.
"""

from __future__ import annotations

import os
from pathlib import Path


def repository_root() -> Path | None:
    """The source checkout this module or the working directory lies in, if any."""
    starts = [Path(__file__).resolve(), Path.cwd().resolve() / '_']
    for parent in (p for start in starts for p in start.parents):
        if (parent / 'src' / 'jetson_edge_common').is_dir():
            return parent
    return None


def committed_fixture(relative: str) -> Path:
    """A file or folder of the repository's committed test data (``test/data/<relative>``)."""
    root = repository_root()
    if root is None:
        raise FileNotFoundError(f'test data {relative}: no jetson_edge source checkout above '
                                f'{Path(__file__).resolve()} or {Path.cwd()}')
    path = root / 'test' / 'data' / relative
    if not path.exists():
        raise FileNotFoundError(f'test data {path} is missing from the checkout')
    return path


def fixtures_dir() -> Path | None:
    """The shared fixtures folder (``../shared/fixtures`` beside the repository), if present."""
    override = os.environ.get('JETSON_EDGE_FIXTURES')
    if override:
        return Path(override) if Path(override).is_dir() else None
    root = repository_root()
    candidate = root.parent / 'shared' / 'fixtures' if root is not None else None
    return candidate if candidate is not None and candidate.is_dir() else None


def fixture_path(relative: str) -> Path:
    """One fixture too large to commit (a model); skips the calling test when it is absent."""
    import pytest

    base = fixtures_dir()
    if base is None or not (base / relative).exists():
        pytest.skip(f'fixture {relative} is too large to commit and is not here (it lives in '
                    '../shared/fixtures beside the repository, or set JETSON_EDGE_FIXTURES)')
    return base / relative


ROS_PACKAGES = frozenset({
    'rclpy', 'rcl_interfaces', 'rosidl_runtime_py', 'builtin_interfaces', 'std_msgs',
    'sensor_msgs', 'geometry_msgs', 'diagnostic_msgs', 'jetson_edge_msgs', 'vision_msgs'})


def core_modules(package_dir: Path, *, edge: set[str]) -> list[Path]:
    """The package's modules except its ROS edge (node modules, given by file name)."""
    return sorted(p for p in Path(package_dir).rglob('*.py') if p.name not in edge)


def ros_imports(path: Path, *, module_level_only: bool = False) -> list[str]:
    """Names of ROS packages ``path`` imports (anywhere, or only at module level)."""
    import ast

    tree = ast.parse(Path(path).read_text(), filename=str(path))
    nodes = tree.body if module_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found += [n for n in names if n.split('.')[0] in ROS_PACKAGES]
    return found


def ros_imports_in_core(package_dir: Path, *, edge: set[str],
                        module_level_only: bool = False) -> dict[str, list[str]]:
    """Core modules that import ROS, with what they import: empty for a clean pure core."""
    offenders = {}
    for path in core_modules(package_dir, edge=edge):
        names = ros_imports(path, module_level_only=module_level_only)
        if names:
            offenders[str(path.relative_to(package_dir))] = names
    return offenders
