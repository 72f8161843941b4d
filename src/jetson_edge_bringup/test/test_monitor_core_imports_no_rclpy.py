"""The suite monitor's core, the status view, the runner and its status channel, the plan and
the node container's core import no ROS:
a runner stays a small process (no rclpy per node), and the cores are tested without a ROS
graph."""

from pathlib import Path

from jetson_edge_common.testing import ros_imports

PACKAGE = Path(__file__).resolve().parents[1] / 'jetson_edge_bringup'


def test_monitor_core_and_runner_import_no_ros():
    for name in ('suite_monitor.py', 'runner_status.py', 'node_runner.py', 'respawn.py',
                 'params.py', 'status_view.py', 'status_table.py', 'composition.py', 'plan.py'):
        assert ros_imports(PACKAGE / name) == [], name
