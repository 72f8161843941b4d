"""Starts the suite: ``ros2 launch jetson_edge_bringup jetson_edge.launch.py profile:=orin_nano``.

Thin on purpose: the process list comes from the plan that ``jetson-edge up`` supervises
(jetson_edge_bringup.plan.prepare_plan), and each process runs the same command line as there
(plan.process_command): ``node_runner`` as the launch prefix applies the plan's nice, CPU
affinity, environment and respawn policy (so launch's own respawn stays off), then the node with
its name, namespace, remappings and a standard ROS 2 parameter file keyed to the node's name, or,
for a process group, ``node_container`` with the members file that holds each member's own.
"""

import shlex
import tempfile

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from jetson_edge_bringup.plan import prepare_plan, process_command, write_parameter_files


def _nodes_from_plan(context):
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    plan, notes = prepare_plan(
        arg('profile'), only=[k for k in arg('only').split(',') if k], root=arg('root'),
        allow_sim_on_hardware=arg('allow_sim_on_hardware').lower() in ('true', '1', 'yes'))
    params_dir = tempfile.mkdtemp(prefix=f'jetson-edge-{plan.profile}-')
    write_parameter_files(plan, params_dir)
    actions = [LogInfo(msg=note) for note in notes]
    actions.append(LogInfo(msg=f'profile {plan.profile!r}: parameter files in {params_dir}'))
    for process in plan.processes():
        command = process_command(process)
        if process.composed:
            # A process, not a node: launch_ros's Node would add --ros-args that reach every
            # member; each member's own are in the members file.
            actions.append(ExecuteProcess(cmd=command.argv, name=process.key, output='screen'))
            continue
        node = process.members[0]
        actions.append(Node(
            package=node.package,
            executable=node.executable,
            name=node.name,
            namespace=node.namespace or None,
            exec_name=node.key,
            parameters=[str(node.params_file)],
            remappings=list(node.remappings.items()),
            prefix=shlex.join(command.prefix),
            respawn=False,
            output='screen',
        ))
    return actions


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument(
            'profile', default_value='auto',
            description='profile in the installed config/profiles (jetson_nano, jetson_tx2, '
                        'xavier_nx, orin_nano, orin_nx, agx_orin, sim), a path to one, or auto: '
                        'read /proc/device-tree/model (sim where there is none; a board that '
                        'matches no profile stops the launch)'),
        DeclareLaunchArgument(
            'only', default_value='',
            description='comma-separated node keys to start, with their companions and the '
                        'suite monitor (default: every enabled node)'),
        DeclareLaunchArgument(
            'allow_sim_on_hardware', default_value='false',
            description='true: start sim-only nodes (virtual sensors, emulators, the thermal '
                        'model) even on a machine with a device tree (a bench test on purpose)'),
        DeclareLaunchArgument(
            'root', default_value='/',
            description='filesystem root for hardware detection (<root>/proc/device-tree/model); '
                        'for tests and dress rehearsals'),
        OpaqueFunction(function=_nodes_from_plan),
    ])
