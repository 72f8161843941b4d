"""One plan, one command line per process, under both runners.

For every profile the supervisor's command lines (``jetson-edge up``) are the plan's
``process_command`` (a node alone, or a process group's container) and carry every scheduling, environment and respawn setting of the plan. Where
launch_ros is importable (a ROS 2 install: the GitHub Humble and Jazzy jobs) the installed launch
file is loaded through it too, and the command launch_ros builds for each node is compared with
the supervisor's, argument by argument. PyPI has no launch_ros, so only that part skips here.
"""

import ast
import importlib.util
from pathlib import Path

import pytest
from ament_index_python.packages import get_package_share_directory

from jetson_edge_bringup.node_runner import parse_arguments
from jetson_edge_bringup.plan import prepare_plan, write_parameter_files
from jetson_edge_bringup.supervisor import commands_for
from jetson_edge_common.profiles import available_profiles, load_profile

SOURCE = Path(__file__).resolve().parents[3] / 'launch' / 'jetson_edge.launch.py'
PROFILES = available_profiles()


def installed_launch_file() -> Path:
    return Path(get_package_share_directory('jetson_edge_bringup')) / 'launch' / 'jetson_edge.launch.py'


def test_the_launch_file_is_installed_from_its_one_source():
    assert installed_launch_file().read_text() == SOURCE.read_text()


def test_launch_file_is_thin_and_uses_the_plan():
    tree = ast.parse(SOURCE.read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {'jetson_edge_bringup.plan', 'launch_ros.actions'} <= imported
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert 'yaml' not in names, 'parameters reach nodes as files, never hand-loaded YAML'
    declared = [c for c in ast.walk(tree) if isinstance(c, ast.Call)
                and getattr(c.func, 'id', '') == 'DeclareLaunchArgument']
    assert {c.args[0].value for c in declared} == {'profile', 'only', 'allow_sim_on_hardware', 'root'}
    assert all(any(k.arg == 'description' for k in c.keywords) for c in declared)


def _plan(profile, directory):
    plan, _ = prepare_plan(profile, root=directory / 'no-device-tree')
    return write_parameter_files(plan, directory)


@pytest.mark.parametrize('profile', PROFILES)
def test_supervisor_runs_every_process_through_the_runner_with_all_of_the_plan(profile, tmp_path):
    plan = _plan(profile, tmp_path)
    commands = commands_for(plan)
    processes = plan.processes()
    assert list(commands) == [p.key for p in processes]
    assert sorted(n.key for p in processes for n in p.members) == sorted(n.key for n in plan.nodes)
    for process in processes:
        argv = commands[process.key]
        assert Path(argv[0]).name == 'node_runner' and Path(argv[0]).is_file()
        options, command = parse_arguments(argv[1:])
        assert options == process.runner_options()
        for node in process.members:
            assert (options.nice, list(options.cpus), options.env) == (node.nice, node.cpu_affinity, node.env)
            assert options.policy.respawn == node.respawn
            assert options.policy.delay_s >= node.respawn_delay_s
            assert options.policy.max_restarts <= node.max_restarts
        if process.composed:   # each member's own arguments are in the members file
            assert command[0].endswith('/lib/jetson_edge_bringup/node_container')
            assert command[1:] == ['--members', str(process.members_file)]
            continue
        node = process.members[0]
        assert command[0].endswith(f'/lib/{node.package}/{node.executable}')
        assert command[1:] == node.ros_arguments()
        assert ['--params-file', str(node.params_file)] == command[command.index('--params-file'):][:2]


def test_the_jetson_profiles_schedule_the_lidar_above_the_rest(tmp_path):
    """A setting the launch path once dropped (nice -5 of the lidar) is in its command now."""
    for profile in PROFILES:
        if load_profile(profile).hardware['model'] == 'sim':  # sim and its variants (sim_multicam)
            continue
        argv = commands_for(_plan(profile, tmp_path / profile))['lidar']   # the lidar runs alone
        assert argv[argv.index('--nice') + 1] == '-5', profile


def _launch_commands(profile: str) -> dict[str, list[str]]:
    """The command launch_ros builds for each process of the installed launch file (not started)."""
    from launch import LaunchContext
    from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction

    spec = importlib.util.spec_from_file_location('jetson_edge_launch', installed_launch_file())
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    context = LaunchContext()
    for entity in description.entities:
        if isinstance(entity, DeclareLaunchArgument):
            context.launch_configurations[entity.name] = entity.default_value[0].perform(context)
    context.launch_configurations.update({'profile': profile, 'root': '/nonexistent-root'})
    opaque = [e for e in description.entities if isinstance(e, OpaqueFunction)][0]
    nodes = [a for a in opaque.execute(context) if isinstance(a, ExecuteProcess)]   # Node is one
    context._set_is_shutdown(True)  # execute() prepares the command, then starts nothing
    commands = {}
    for node in nodes:
        node.execute(context)
        description = node.process_description
        commands[description.final_name.rsplit('-', 1)[0]] = list(description.final_cmd)
    return commands


@pytest.mark.parametrize('profile', PROFILES)
def test_launch_ros_builds_the_supervisors_command_for_every_node(profile, tmp_path):
    if importlib.util.find_spec('launch_ros') is None:
        pytest.skip('launch_ros is not importable (PyPI has none); this comparison runs on a '
                    'ROS 2 install, the GitHub Humble and Jazzy jobs')
    launched = _launch_commands(profile)
    some = next(argv for argv in launched.values() if '--params-file' in argv)
    params_dir = Path(some[some.index('--params-file') + 1]).parent
    supervised = commands_for(_plan(profile, params_dir))
    assert list(launched) == list(supervised)
    for key, argv in supervised.items():
        assert launched[key] == argv, key
