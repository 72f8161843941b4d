"""The pure modules of jetson_edge_common must stay importable without ROS."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'jetson_edge_common'
ROS_MODULES = {'qos', 'node_main'}   # the thin ROS wiring; everything else is pure at import


def test_pure_modules_do_not_import_rclpy_at_module_level():
    offenders = []
    for path in PACKAGE.glob('*.py'):
        if path.stem in ROS_MODULES:
            continue
        for node in ast.parse(path.read_text()).body:
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split('.')[0] in ('rclpy', 'sensor_msgs', 'diagnostic_msgs') for n in names):
                offenders.append(f'{path.name}: {names}')
    assert not offenders, offenders
