"""Starts the suite on a robot: ``ros2 launch launch/jetson_edge.launch.py profile:=orin_nano``.

Thin on purpose: the node list, parameters and respawn policy come from the same plan that
``jetson-edge up`` supervises (jetson_edge_bringup.plan), so the two cannot drift apart.
Parameters reach each node as a standard ROS 2 parameter file keyed to the node's name.
"""

import tempfile

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from jetson_edge_bringup.plan import build_plan, write_parameter_files
from jetson_edge_common.profiles import detect_profile, load_profile


def _nodes_from_plan(context):
    name = LaunchConfiguration('profile').perform(context)
    actions = []
    if name == 'auto':
        name, why = detect_profile()
        actions.append(LogInfo(msg=why))
    only = [k for k in LaunchConfiguration('only').perform(context).split(',') if k]
    plan = build_plan(load_profile(name)).select(only or None)
    write_parameter_files(plan, tempfile.mkdtemp(prefix=f'jetson-edge-{plan.profile}-'))
    for node in plan.nodes:
        actions.append(Node(
            package=node.package,
            executable=node.executable,
            name=node.name,
            namespace=node.namespace or None,
            parameters=[str(node.params_file)],
            remappings=list(node.remappings.items()),
            respawn=node.respawn,
            respawn_delay=node.respawn_delay_s,
            additional_env=node.env or None,
            output='screen',
        ))
    return actions


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument(
            'profile', default_value='auto',
            description='profile in config/profiles (jetson_nano, jetson_tx2, xavier_nx, orin_nano, '
                        'orin_nx, agx_orin, sim) or auto to read /proc/device-tree/model'),
        DeclareLaunchArgument(
            'only', default_value='',
            description='comma-separated node keys to start (default: every enabled node)'),
        OpaqueFunction(function=_nodes_from_plan),
    ])
