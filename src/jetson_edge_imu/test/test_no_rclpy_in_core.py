"""The pure core must not import rclpy (or ROS message packages): only node modules may."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'jetson_edge_imu'
NODE_MODULES = {'node.py', 'emulator_main.py', 'bench.py', 'params.py'}
ROS = ('rclpy', 'sensor_msgs', 'std_msgs', 'diagnostic_msgs', 'jetson_edge_common')


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split('.')[0])
    return names


def test_core_modules_import_no_ros():
    core = [p for p in PACKAGE.glob('*.py') if p.name not in NODE_MODULES]
    assert len(core) > 10
    offenders = {p.name: sorted(_imports(p) & set(ROS)) for p in core}
    assert {k: v for k, v in offenders.items() if v} == {}
