"""The pure core imports no rclpy; only the node modules may."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'jetson_edge_power'
NODE_MODULES = {'node.py', 'thermal_model_node.py', 'ros_convert.py'}


def test_core_modules_do_not_import_rclpy():
    offenders = []
    for path in sorted(PACKAGE.glob('*.py')):
        if path.name in NODE_MODULES:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                root = name.split('.')[0]
                if root in {'rclpy', 'sensor_msgs', 'diagnostic_msgs', 'rcl_interfaces',
                            'jetson_edge_msgs'}:
                    offenders.append(f'{path.name}: {name}')
    assert offenders == []
    assert len(list(PACKAGE.glob('*.py'))) > 8  # the check really looked at the package
