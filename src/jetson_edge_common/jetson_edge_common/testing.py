"""Helpers for tests: locating the shared fixtures and skipping cleanly where they are absent."""

from __future__ import annotations

import os
from pathlib import Path


def fixtures_dir() -> Path | None:
    """The shared fixtures folder (``../shared/fixtures`` beside the repository), if present.

    ``JETSON_EDGE_FIXTURES`` overrides the location.
    """
    override = os.environ.get('JETSON_EDGE_FIXTURES')
    if override:
        return Path(override) if Path(override).is_dir() else None
    starts = [Path(__file__).resolve(), Path.cwd().resolve() / '_']
    for parent in (p for start in starts for p in start.parents):
        candidate = parent.parent / 'shared' / 'fixtures'
        if (parent / 'src').is_dir() and candidate.is_dir():
            return candidate
    return None


def fixture_path(relative: str) -> Path:
    """Path to one fixture file; skips the calling test when it is absent."""
    import pytest

    base = fixtures_dir()
    if base is None or not (base / relative).exists():
        pytest.skip(f'fixture {relative} not found (needs ../shared/fixtures beside the repository)')
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
