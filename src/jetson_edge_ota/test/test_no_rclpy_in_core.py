"""Pure core / thin ROS edge: only the diagnostics watcher may import rclpy or ROS messages."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'jetson_edge_ota'
ROS_EDGE = {'diagnostics_watch.py'}
ROS_MODULES = ('rclpy', 'diagnostic_msgs', 'std_msgs', 'rosidl')


def test_core_modules_do_not_import_ros():
    offenders = []
    for path in sorted(PACKAGE.glob('*.py')):
        if path.name in ROS_EDGE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ''] if isinstance(node, ast.ImportFrom) else []
            offenders += [f'{path.name}: {n}' for n in names if n.split('.')[0] in ROS_MODULES]
    assert offenders == []
    assert (PACKAGE / 'diagnostics_watch.py').is_file()
