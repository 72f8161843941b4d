"""The pure core must not import rclpy: only node modules wire ROS to it."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'jetson_edge_lidar'
NODE_MODULES = {'node.py', 'virtual_node.py', 'params.py'}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split('.')[0])
    return names


def test_core_modules_do_not_import_rclpy():
    core = [p for p in PACKAGE.glob('*.py') if p.name not in NODE_MODULES]
    assert len(core) > 8
    offenders = [p.name for p in core if {'rclpy', 'sensor_msgs', 'diagnostic_msgs'}
                 & _imports(p)]
    assert offenders == []
