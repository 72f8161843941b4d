import pytest
import yaml

from jetson_edge_bringup.node_runner import parse_arguments
from jetson_edge_bringup.plan import build_plan, parameters_document, write_parameter_files
from jetson_edge_bringup.suite_monitor import ExpectedTopic, watched_nodes
from jetson_edge_common.profiles import ProfileError, load_profile

PROFILE = """
nodes:
  lidar:
    package: jetson_edge_lidar
    executable: velodyne_node
    namespace: sensors
    respawn_delay_s: 2
    scheduling: {nice: -5, cpu_affinity: [2, 3]}
    remappings: {lidar/points: points}
    parameters: {rpm: 600, frame_id: velodyne}
    companions: [lidar_sim]
  lidar_sim:
    package: jetson_edge_sim
    executable: virtual_velodyne
  camera:
    package: jetson_edge_perception
    executable: camera_source
    enabled: false
"""


def make_plan(tmp_path):
    (tmp_path / 'p.yaml').write_text(PROFILE)
    return build_plan(load_profile('p', directory=tmp_path))


def test_plan_keeps_enabled_nodes_and_their_settings(tmp_path):
    plan = make_plan(tmp_path)
    assert [n.key for n in plan.nodes] == ['lidar', 'lidar_sim']
    node = plan.nodes[0]
    assert node.fully_qualified_name == '/sensors/lidar'
    assert (node.nice, node.cpu_affinity, node.respawn_delay_s) == (-5, [2, 3], 2.0)


def test_a_node_is_sim_only_because_its_package_is_the_sims(tmp_path):
    nodes = {n.key: n for n in make_plan(tmp_path).nodes}
    assert nodes['lidar_sim'].sim_only and not nodes['lidar'].sim_only
    nodes['lidar'].package = 'jetson_edge_sim'
    assert nodes['lidar'].sim_only


def test_parameter_files_are_standard_ros_files_keyed_to_the_node(tmp_path):
    plan = write_parameter_files(make_plan(tmp_path), tmp_path / 'params')
    node = plan.nodes[0]
    doc = yaml.safe_load(node.params_file.read_text())
    assert doc == {'/sensors/lidar': {'ros__parameters': {'rpm': 600, 'frame_id': 'velodyne'}}}
    assert doc == parameters_document(node)
    args = node.ros_arguments()
    assert args[:3] == ['--ros-args', '-r', '__node:=lidar']
    assert ['-r', '__ns:=/sensors'] == args[3:5]
    assert 'lidar/points:=points' in args and str(node.params_file) in args


def test_only_selects_and_rejects_unknown_keys(tmp_path):
    plan = make_plan(tmp_path)
    assert plan.select(['lidar']).nodes == plan.nodes  # with its companion
    assert [n.key for n in plan.select(['lidar_sim']).nodes] == ['lidar_sim']
    try:
        plan.select(['camera'])
    except ProfileError as exc:
        assert "no enabled node 'camera'" in str(exc)
    else:
        raise AssertionError('disabled node was selectable')


def test_nodes_declaring_layout_file_get_the_profiles_hardware_section(tmp_path):
    profile = load_profile('sim')
    plan = write_parameter_files(build_plan(profile), tmp_path / 'params')
    nodes = {n.key: n for n in plan.nodes}
    path = nodes['power_manager'].parameters['layout_file']
    assert nodes['thermal_model'].parameters['layout_file'] == path
    assert yaml.safe_load(open(path)) == profile.hardware
    assert 'layout_file' not in nodes['lidar'].parameters  # its schema declares none


def test_every_profile_starts_the_suite_monitor():
    from jetson_edge_common.profiles import available_profiles

    for name in available_profiles():
        keys = [n.key for n in build_plan(load_profile(name)).nodes]
        assert 'monitor' in keys, name


def test_the_monitor_gets_every_other_node_with_its_expectations_and_runner_status(tmp_path):
    profile = load_profile('sim')
    plan = write_parameter_files(build_plan(profile), tmp_path / 'params')
    nodes = {n.key: n for n in plan.nodes}
    monitor = nodes['monitor']
    document = yaml.safe_load(open(monitor.parameters['plan_file']))
    watched = {w.key: w for w in watched_nodes(document)}
    assert set(watched) == set(nodes) - {'monitor'}
    lidar = watched['lidar']
    assert lidar.name == nodes['lidar'].name
    assert lidar.expects == (ExpectedTopic('/lidar/points', 'sensor_msgs/msg/PointCloud2', 10.0,
                                           'sensor'),)
    assert lidar.status_file == str(nodes['lidar'].status_file)
    assert watched['power_manager'].expects == ()
    # each runner is told where to keep its state: the file the monitor reads
    options, _ = parse_arguments([*nodes['lidar'].runner_options().to_argv(), 'node'])
    assert options.status_file == lidar.status_file
    assert 'plan_file' not in nodes['lidar'].parameters   # its schema declares none


def test_a_selection_brings_the_suite_monitor_watching_only_the_chosen_nodes(tmp_path):
    plan = build_plan(load_profile('sim')).select(['lidar'])
    nodes = {n.key: n for n in write_parameter_files(plan, tmp_path / 'params').nodes}
    assert set(nodes) == {'lidar', 'lidar_sim', 'monitor'}
    document = yaml.safe_load(open(nodes['monitor'].parameters['plan_file']))
    assert {w.key for w in watched_nodes(document)} == {'lidar', 'lidar_sim'}


def test_a_namespaced_nodes_topics_are_watched_by_their_absolute_names(tmp_path):
    plan = write_parameter_files(make_plan(tmp_path), tmp_path / 'params')
    from jetson_edge_bringup.plan import monitored_document

    plan.nodes[0].expects = {'lidar/points': {'type': 'sensor_msgs/msg/PointCloud2',
                                              'rate_hz': 10, 'qos': 'sensor'}}
    watched = watched_nodes(monitored_document(plan, exclude='lidar_sim'))
    assert [w.key for w in watched] == ['lidar']
    assert watched[0].expects[0].topic == '/sensors/lidar/points'


def _jetson_root(tmp_path, model=b'NVIDIA Jetson Orin Nano Developer Kit\x00'):
    root = tmp_path / 'jetson'
    (root / 'proc' / 'device-tree').mkdir(parents=True, exist_ok=True)
    (root / 'proc' / 'device-tree' / 'model').write_bytes(model)
    return root


def test_sim_plan_refuses_a_detected_jetson_unless_allowed(tmp_path):
    from jetson_edge_bringup.plan import prepare_plan

    root = _jetson_root(tmp_path)
    with pytest.raises(ProfileError) as error:
        prepare_plan('sim', root=root)
    message = str(error.value)
    assert "'NVIDIA Jetson Orin Nano Developer Kit'" in message
    assert 'imu_emulator, lidar_sim' in message and 'thermal_model' in message
    assert '--allow-sim-on-hardware' in message and 'allow_sim_on_hardware:=true' in message
    plan, _ = prepare_plan('sim', root=root, allow_sim_on_hardware=True)
    assert {'imu_emulator', 'lidar_sim', 'thermal_model'} <= {n.key for n in plan.nodes}


def test_a_selection_without_simulators_runs_on_a_jetson(tmp_path):
    from jetson_edge_bringup.plan import prepare_plan

    plan, _ = prepare_plan('sim', only=['rt_executor'], root=_jetson_root(tmp_path))
    assert [n.key for n in plan.nodes] == ['rt_executor', 'monitor']
    with pytest.raises(ProfileError, match='lidar_sim'):
        prepare_plan('sim', only=['lidar'], root=_jetson_root(tmp_path))


def test_auto_picks_the_jetsons_profile_and_says_so(tmp_path):
    from jetson_edge_bringup.plan import prepare_plan

    plan, notes = prepare_plan('auto', root=_jetson_root(tmp_path))
    assert plan.profile == 'orin_nano' and not any(n.sim_only for n in plan.nodes)
    assert notes == ["device-tree model 'NVIDIA Jetson Orin Nano Developer Kit' -> profile 'orin_nano'"]
    plan, notes = prepare_plan('auto', root=tmp_path / 'laptop')
    assert plan.profile == 'sim' and 'not a Jetson' in notes[0]


GROUPED = """
nodes:
  lidar:
    package: jetson_edge_lidar
    executable: velodyne_node
  power_manager:
    package: jetson_edge_power
    executable: power_manager_node
    process: light
    respawn_delay_s: 2
  thermal_model:
    package: jetson_edge_sim
    executable: thermal_model_node
    process: light
    max_restarts: 3
  viewer:
    package: jetson_edge_viewer
    executable: viewer_node
    process: light
"""


def grouped_plan(tmp_path, text=GROUPED):
    (tmp_path / 'g.yaml').write_text(text)
    return build_plan(load_profile('g', directory=tmp_path))


def test_a_process_group_is_one_process_in_the_order_of_its_first_member(tmp_path):
    processes = grouped_plan(tmp_path).processes()
    assert [(p.key, [m.key for m in p.members]) for p in processes] == [
        ('lidar', ['lidar']), ('light', ['power_manager', 'thermal_model', 'viewer'])]
    assert [p.composed for p in processes] == [False, True]


def test_a_group_respawns_with_its_longest_delay_and_fewest_restarts(tmp_path):
    light = grouped_plan(tmp_path).processes()[1]
    options = light.runner_options()
    assert options.key == 'light'
    assert (options.policy.delay_s, options.policy.max_restarts) == (2.0, 3)


def test_a_group_with_one_member_selected_runs_it_alone(tmp_path):
    plan = grouped_plan(tmp_path).select(['lidar', 'viewer'])
    assert [(p.key, p.composed) for p in plan.processes()] == [('lidar', False), ('viewer', False)]


def test_members_that_disagree_on_their_process_are_refused_naming_the_setting(tmp_path):
    text = GROUPED.replace('    process: light\n    max_restarts: 3',
                           '    process: light\n    scheduling: {nice: 10}')
    with pytest.raises(ProfileError, match=r"group 'light'.*agree on nice"):
        grouped_plan(tmp_path, text).processes()


def test_a_group_named_like_a_node_is_refused(tmp_path):
    with pytest.raises(ProfileError, match="group 'lidar' has the name of a node"):
        grouped_plan(tmp_path, GROUPED.replace('process: light', 'process: lidar')).processes()


def test_a_groups_members_share_its_status_file_and_keep_their_own_arguments(tmp_path):
    plan = write_parameter_files(grouped_plan(tmp_path), tmp_path / 'params')
    light = plan.processes()[1]
    assert {m.status_file for m in light.members} == {tmp_path / 'params' / 'g.light.runner.json'}
    members = yaml.safe_load(light.members_file.read_text())
    assert [m['key'] for m in members] == ['power_manager', 'thermal_model', 'viewer']
    for member, node in zip(members, light.members):
        assert (member['package'], member['executable']) == (node.package, node.executable)
        assert member['ros_arguments'] == node.ros_arguments()
        assert f'__node:={node.name}' in member['ros_arguments']
    assert plan.processes()[0].members_file is None
