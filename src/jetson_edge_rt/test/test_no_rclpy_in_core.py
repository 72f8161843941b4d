"""The pure core must not import rclpy: only node.py (the ROS wiring) may."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'jetson_edge_rt'
NODE_MODULES = {'node.py'}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split('.')[0])
    return roots


def test_core_modules_do_not_import_rclpy():
    core = [p for p in PACKAGE.rglob('*.py') if p.name not in NODE_MODULES]
    assert len(core) > 5
    offenders = [str(p.relative_to(PACKAGE)) for p in core if 'rclpy' in _imported_roots(p)]
    assert offenders == []


def test_checker_detects_an_rclpy_import(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text('from rclpy.node import Node\n')
    assert 'rclpy' in _imported_roots(bad)
