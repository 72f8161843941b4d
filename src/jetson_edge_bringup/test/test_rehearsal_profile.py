import copy

import pytest

from jetson_edge_bringup.rehearsal import RehearsalError, card_task, rehearsal_profile
from jetson_edge_common.profiles import Profile, load_profile

JETSONS = ['jetson_nano', 'jetson_tx2', 'xavier_nx', 'orin_nano', 'orin_nx', 'agx_orin']


@pytest.fixture(scope='module')
def sim():
    return load_profile('sim')


def _with_imu(profile: Profile, **parameters) -> Profile:
    data = copy.deepcopy(profile.data)
    data['nodes']['imu']['parameters'].update(parameters)
    return Profile(profile.name, profile.path, data)


@pytest.mark.parametrize('name', JETSONS)
def test_only_the_catalogued_endpoints_change(name, sim):
    robot = load_profile(name)
    rehearsal = rehearsal_profile(robot, sim, card_task=card_task)
    nodes = rehearsal.profile.nodes
    changed = {(o.node, o.parameter) for o in rehearsal.overrides}
    for key, spec in robot.nodes.items():
        if not spec.get('enabled', True):
            continue
        endpoints = spec.get('endpoints', {})
        for param, value in nodes[key]['parameters'].items():
            if (key, param) in changed:
                assert endpoints[param] in ('address', 'model_card', 'timing')
                assert value == sim.nodes[key]['parameters'][param]
            else:
                assert value == spec['parameters'].get(param), f'{key}.{param} changed silently'
    # the hardware addresses the Jetson profiles name are all redirected
    assert {('imu', 'port'), ('lidar', 'sensor_ip'), ('lidar', 'address'),
            ('power_manager', 'sysfs_root'), ('power_manager', 'actuator_backend'),
            ('camera', 'source'), ('perception', 'detection_model'),
            ('perception', 'segmentation_model')} <= changed
    assert nodes['lidar']['parameters']['sensor_ip'] == \
        nodes['lidar_sim']['parameters']['host'] == '127.0.0.1'
    assert set(rehearsal.stand_ins) == {'imu_emulator', 'lidar_sim', 'thermal_model'}
    assert list(nodes)[:3] == list(rehearsal.stand_ins)
    # the thermal model writes this robot's layout, not the sim's: the plan hands both power
    # nodes the rehearsed profile's hardware section
    assert rehearsal.profile.hardware == robot.hardware != sim.hardware
    assert 'imu_emulator' in nodes['imu']['companions']


def test_an_imu_the_emulator_does_not_speak_is_refused(sim):
    robot = _with_imu(load_profile('orin_nano'), device_type='mpu6050', interface='i2c')
    with pytest.raises(RehearsalError, match=r"imu.parameters.device_type: the profile "
                       r"configures 'mpu6050', the stand-in speaks 'bno055'"):
        rehearsal_profile(robot, sim)


def test_a_stand_in_card_of_another_task_is_refused(sim):
    tasks = {'ssd_mobilenet_v2_coco_onnx': 'detection', 'selfie_segmentation_onnx': 'segmentation',
             'ssd_mobilenet_v2_coco_tf': 'segmentation', 'selfie_segmentation_tflite': 'segmentation'}
    with pytest.raises(RehearsalError, match="stand-in card 'ssd_mobilenet_v2_coco_tf' does "
                                             "'segmentation', not 'detection'"):
        rehearsal_profile(load_profile('orin_nano'), sim, card_task=tasks.__getitem__)


def test_a_stand_in_without_the_endpoint_is_refused(sim):
    data = copy.deepcopy(sim.data)
    del data['nodes']['lidar']['parameters']['sensor_ip']
    with pytest.raises(RehearsalError, match="lidar.parameters.sensor_ip: the stand-in profile "
                                             "'sim' sets no value"):
        rehearsal_profile(load_profile('orin_nano'), Profile('sim', sim.path, data))


def test_the_cli_refuses_on_a_jetson_root_without_allow_sim(tmp_path, capsys):
    from jetson_edge_bringup.cli import main

    tree = tmp_path / 'proc' / 'device-tree'
    tree.mkdir(parents=True)
    (tree / 'model').write_bytes(b'NVIDIA Jetson Orin Nano Developer Kit\x00')
    assert main(['--root', str(tmp_path), 'rehearse', 'orin_nano']) == 1
    assert '--allow-sim-on-hardware' in capsys.readouterr().err
    assert main(['--root', str(tmp_path), 'rehearse', 'orin_nano', '--allow-sim-on-hardware',
                 '--duration', '0', '--only', 'rt_executor']) == 0
