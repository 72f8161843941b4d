import json

from jetson_edge_bringup import cli


def test_profile_show_prints_the_resolved_profile(capsys):
    assert cli.main(['profile', 'show', 'orin_nano', '--json']) == 0
    data = json.loads(capsys.readouterr().out)
    assert data['hardware']['cpu_cores'] == 6
    assert {m['name'] for m in data['hardware']['nvpmodel']['modes']} == {'15W', '25W', 'MAXN_SUPER', '7W'}
    assert data['hardware']['jetpack_variants'][0]['l4t_below'] == '36.4.3'


def test_bad_profile_is_a_message_not_a_stack_trace(tmp_path, capsys):
    bad = tmp_path / 'bad.yaml'
    bad.write_text('hardware:\n  cpu_cores: -1\n')
    assert cli.main(['profile', 'show', str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith('jetson-edge: error:') and 'hardware.cpu_cores' in err
    assert 'Traceback' not in err


def test_auto_profile_falls_back_to_sim_with_a_message(tmp_path, capsys):
    assert cli.main(['--root', str(tmp_path), 'profile', 'show', 'auto', '--json']) == 0
    captured = capsys.readouterr()
    assert 'not a Jetson' in captured.err
    assert json.loads(captured.out)['hardware']['model'] == 'sim'


def test_unknown_benchmark_lists_the_available_ones(capsys):
    assert cli.main(['bench', 'nonexistent']) == 1
    assert "no benchmark 'nonexistent'" in capsys.readouterr().err


def test_doctor_reports_ros_and_runtimes(capsys):
    assert cli.main(['doctor']) == 0
    out = capsys.readouterr().out
    for name in ('ROS 2', 'RMW', 'Jetson', 'TensorRT', 'ONNX Runtime', 'realtime priority',
                 'memory locking'):
        assert name in out


def test_bench_json_flag_is_ours_anywhere_before_the_separator():
    import argparse
    args = argparse.Namespace(json=None, bench_args=['--quick', '--json', 'out.json', '--',
                                                     '--json', 'theirs'])
    cli._split_bench_args(args)
    assert args.json == 'out.json' and args.bench_args == ['--quick', '--json', 'theirs']


def _jetson(tmp_path, model=b'NVIDIA Jetson AGX Xavier Developer Kit\x00'):
    (tmp_path / 'proc' / 'device-tree').mkdir(parents=True)
    (tmp_path / 'proc' / 'device-tree' / 'model').write_bytes(model)
    return str(tmp_path)


def test_up_auto_on_an_unknown_jetson_refuses_before_starting_anything(tmp_path, capsys):
    assert cli.main(['--root', _jetson(tmp_path), 'up', '--profile', 'auto']) == 1
    err = capsys.readouterr().err
    assert err.startswith('jetson-edge: error: this board is '
                          "'NVIDIA Jetson AGX Xavier Developer Kit'")
    assert 'started' not in err and 'running' not in err


def test_up_with_the_sim_on_a_jetson_needs_the_explicit_flag(tmp_path, capsys):
    root = _jetson(tmp_path, b'NVIDIA Jetson Orin Nano Developer Kit\x00')
    assert cli.main(['--root', root, 'up', '--profile', 'sim']) == 1
    assert '--allow-sim-on-hardware' in capsys.readouterr().err
    args = cli.build_parser().parse_args(['--root', root, 'up', '--profile', 'sim',
                                          '--allow-sim-on-hardware', '--only', 'lidar'])
    assert [n.key for n in cli._prepared(args, args.profile).nodes] == ['lidar', 'lidar_sim',
                                                                       'monitor']


def test_doctor_on_an_unknown_jetson_says_how_to_add_a_profile(tmp_path, capsys):
    assert cli.main(['--root', _jetson(tmp_path), 'doctor']) == 0
    assert 'matches no profile' in capsys.readouterr().out


def test_up_says_where_to_look_with_the_status_command_of_its_own_plan():
    from jetson_edge_bringup.cli import where_to_look
    from jetson_edge_bringup.plan import NodePlan, Plan

    plan = Plan('sim', [NodePlan('imu', 'p', 'e', 'imu', '', {})])
    assert where_to_look(plan, profile='sim', only='imu') == [
        'all 1 nodes started; watch the suite with `jetson-edge status --profile sim --only imu` '
        'in another terminal (node levels, topic rates, temperatures, perception, RT loop)']
