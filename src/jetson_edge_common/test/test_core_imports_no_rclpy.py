"""The pure modules of jetson_edge_common stay importable without ROS: the rclpy
wiring in params and diagnostics is imported inside the functions that need it."""

from pathlib import Path

from jetson_edge_common.testing import core_modules, ros_imports_in_core

PACKAGE = Path(__file__).resolve().parents[1] / 'jetson_edge_common'
EDGE = {'qos.py', 'node_main.py'}


def test_core_modules_import_no_ros():
    assert len(core_modules(PACKAGE, edge=EDGE)) > 5
    assert ros_imports_in_core(PACKAGE, edge=EDGE, module_level_only=True) == {}
