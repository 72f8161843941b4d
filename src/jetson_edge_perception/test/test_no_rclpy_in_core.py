"""The pure core imports no rclpy: only node modules may."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'jetson_edge_perception'
NODE_MODULES = {'node.py', 'camera_node.py', 'bench_ros.py'}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split('.')[0])
    return names


def test_core_modules_do_not_import_rclpy():
    core = [p for p in PACKAGE.rglob('*.py') if p.name not in NODE_MODULES]
    assert len(core) > 10
    offenders = [str(p.relative_to(PACKAGE)) for p in core if {'rclpy', 'sensor_msgs', 'jetson_edge_msgs'} & _imports(p)]
    assert offenders == []
