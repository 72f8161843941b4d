"""The pure core imports no ROS: only node.py (the ROS wiring) may."""

from pathlib import Path

from jetson_edge_common.testing import core_modules, ros_imports_in_core

PACKAGE = Path(__file__).resolve().parents[1] / 'jetson_edge_viewer'
EDGE = {'node.py'}


def test_core_modules_import_no_ros():
    assert len(core_modules(PACKAGE, edge=EDGE)) > 5
    assert ros_imports_in_core(PACKAGE, edge=EDGE) == {}
