"""docker/docker-compose.jetson.yml: valid under the Compose Specification's JSON schema (as
written and after variable interpolation), and each service granted only what its hardware
needs: no privileged service, the GPU only for perception, SYS_NICE + rtprio + memlock + a
cpuset only for rt, the host network for the LiDAR, read-only sysfs for power.

The schema is the copy that check-jsonschema vendors (compose-spec.json, Apache-2.0, from the
compose-spec/compose-spec repository), validated with jsonschema.
"""

from __future__ import annotations

import copy
import re
from pathlib import PurePosixPath

import pytest
from jetson_edge_common.profiles import available_profiles, load_profile

from deploy_checks import (DOCKER, ROOT, MissingVariable, interpolate, load_yaml, schema_errors,
                           vendored_schema)

COMPOSE = DOCKER / 'docker-compose.jetson.yml'
# service -> the package whose node it starts
NODE_SERVICES = {'camera': 'jetson_edge_perception', 'perception': 'jetson_edge_perception',
                 'lidar': 'jetson_edge_lidar', 'imu': 'jetson_edge_imu',
                 'power': 'jetson_edge_power', 'rt': 'jetson_edge_rt'}
ROBOT_ENV = {'JETSON_EDGE_PROFILE': 'orin_nano'}


@pytest.fixture(scope='module')
def compose() -> dict:
    return load_yaml(COMPOSE)


@pytest.fixture(scope='module')
def services(compose) -> dict:
    """Services after YAML merge keys, before interpolation."""
    return compose['services']


@pytest.fixture(scope='module')
def resolved(compose) -> dict:
    """Services as Compose runs them for a robot that set only JETSON_EDGE_PROFILE."""
    return interpolate(compose, ROBOT_ENV)['services']


@pytest.fixture(scope='module')
def schema() -> dict:
    return vendored_schema('compose-spec')


def test_compose_file_is_valid_under_the_compose_specification(compose, schema):
    assert schema_errors(schema, compose) == []


def test_interpolated_compose_file_is_valid_too(compose, schema):
    assert schema_errors(schema, interpolate(compose, ROBOT_ENV)) == []


def test_schema_check_catches_a_misspelt_key_and_a_wrong_type(compose, schema):
    broken = copy.deepcopy(compose)
    broken['services']['rt']['privilegd'] = True
    broken['services']['lidar']['cap_add'] = 'SYS_NICE'          # a string, not a list
    errors = '\n'.join(schema_errors(schema, broken))
    assert 'privilegd' in errors
    assert '$.services.lidar.cap_add' in errors


def node_key(service: dict) -> str:
    command = service['command']
    return command[command.index('--only') + 1]


def test_one_service_per_concern_each_starting_one_node(services):
    assert set(services) == set(NODE_SERVICES)
    keys = []
    for name, service in services.items():
        assert service['command'][:3] == ['jetson-edge', 'up', '--profile'], name
        assert ',' not in node_key(service), f'{name} starts several nodes'
        keys.append(node_key(service))
    assert len(set(keys)) == len(keys), keys


def test_every_service_needs_an_explicit_profile(compose):
    """profile:=auto reads /proc/device-tree, which Docker hides: a robot must name its model."""
    with pytest.raises(MissingVariable, match='JETSON_EDGE_PROFILE'):
        interpolate(compose, {})
    for name, service in compose['services'].items():
        assert '${JETSON_EDGE_PROFILE:?' in service['command'][3], name


def test_services_start_nodes_of_the_profile_catalogue(services):
    """Each service's --only key is a node of its package in config/profiles/_base.yaml."""
    catalogue = load_yaml(ROOT / 'config' / 'profiles' / '_base.yaml').get('nodes') or {}
    unchecked = []
    for name, package in NODE_SERVICES.items():
        keys = {key for key, node in catalogue.items() if node.get('package') == package}
        if not keys:
            unchecked.append(name)
            continue
        assert node_key(services[name]) in keys, \
            f'{name} starts {node_key(services[name])!r}; {package} nodes: {sorted(keys)}'
    if unchecked:
        pytest.skip(f'no catalogue entry yet for the packages of: {", ".join(unchecked)}')


def test_no_service_is_privileged_or_escapes_its_sandbox(services):
    for name, service in services.items():
        assert not service.get('privileged', False), f'{name} is privileged'
        assert service.get('cap_drop') == ['ALL'], f'{name} keeps default capabilities'
        assert 'no-new-privileges:true' in service.get('security_opt', []), name
        assert not any('unconfined' in opt for opt in service.get('security_opt', [])), name
        assert service.get('pid') != 'host' and service.get('ipc') != 'host', name
        assert service.get('read_only') is True, f'{name} has a writable root filesystem'
        for volume in service.get('volumes', []):
            source = str(volume).split(':')[0]
            assert source not in ('/', '/dev', '/sys', '/var/run/docker.sock'), (name, volume)
        for device in service.get('devices', []):
            assert str(device).split(':')[0] not in ('/dev', '/dev/mem'), (name, device)


def test_only_rt_adds_a_capability_and_only_sys_nice(services):
    adds = {name: service.get('cap_add', []) for name, service in services.items()}
    assert adds == {name: (['SYS_NICE'] if name == 'rt' else []) for name in services}


def test_rt_gets_realtime_scheduling_locked_memory_and_a_cpuset(services, resolved):
    rt = services['rt']
    assert rt['ulimits']['rtprio'] == 99
    assert rt['ulimits']['memlock'] == -1
    assert re.fullmatch(r'\d+(-\d+)?(,\d+(-\d+)?)*', resolved['rt']['cpuset']), \
        resolved['rt']['cpuset']
    for name, service in services.items():
        if name != 'rt':
            assert 'ulimits' not in service and 'cpuset' not in service, name


def test_only_perception_gets_the_gpu(services):
    runtimes = {name: service.get('runtime') for name, service in services.items()}
    assert runtimes == {name: ('nvidia' if name == 'perception' else None) for name in services}
    for name, service in services.items():
        assert 'deploy' not in service, f'{name} reserves devices through deploy:'


def test_lidar_listens_on_the_host_network(services):
    assert services['lidar']['network_mode'] == 'host'


def test_power_reads_sysfs_and_nvpmodel_read_only(services):
    volumes = [str(v) for v in services['power']['volumes']]
    host_paths = {v.split(':')[0]: v for v in volumes}
    for needed in ('/sys/class/thermal', '/sys/class/hwmon', '/usr/sbin/nvpmodel',
                   '/etc/nvpmodel.conf', '/var/lib/nvpmodel'):
        assert needed in host_paths, f'power lacks {needed}'
    for volume in volumes:
        if volume.startswith(('/sys', '/usr', '/etc', '/var')):
            assert volume.endswith(':ro'), f'power mounts {volume} writable'
    assert not services['power'].get('devices'), 'power needs no device node'


def test_device_nodes_go_only_to_the_services_that_use_them(services, resolved):
    devices = {name: service.get('devices', []) for name, service in resolved.items()}
    assert set(name for name, found in devices.items() if found) == {'camera', 'imu', 'rt'}
    assert len(devices['imu']) == 1 and len(devices['camera']) == 1
    assert devices['rt'] == ['/dev/cpu_dma_latency:/dev/cpu_dma_latency']
    host, _, container = devices['imu'][0].partition(':')
    assert host == container and re.fullmatch(r'/dev/(tty\w+|i2c-\d+)', host), devices['imu']


def test_every_service_shares_the_dds_settings(services):
    profile_mount = './fastdds.xml:/etc/jetson_edge/fastdds.xml:ro'
    for name, service in services.items():
        env = service['environment']
        assert env['RMW_IMPLEMENTATION'] == 'rmw_fastrtps_cpp', name
        assert env['ROS_DOMAIN_ID'].startswith('${ROS_DOMAIN_ID'), name
        assert env['FASTRTPS_DEFAULT_PROFILES_FILE'] == '/etc/jetson_edge/fastdds.xml', name
        assert env['RMW_FASTRTPS_USE_QOS_FROM_XML'] == '1', name
        assert profile_mount in service['volumes'], f'{name} does not mount the DDS profile'
    assert (COMPOSE.parent / profile_mount.split(':')[0]).is_file()


def test_services_build_the_jetson_image_from_the_repository(services):
    for name, service in services.items():
        build = service['build']
        assert (COMPOSE.parent / build['context'] / build['dockerfile']).resolve() == \
            (DOCKER / 'Dockerfile.jetson').resolve(), name


def test_relative_host_paths_exist(services):
    for name, service in services.items():
        for volume in service.get('volumes', []):
            source = str(volume).split(':')[0]
            if source.startswith('.'):
                assert (COMPOSE.parent / source).exists(), (name, volume)


def test_named_volumes_are_declared(compose):
    declared = set(compose.get('volumes') or {})
    for name, service in compose['services'].items():
        for volume in service.get('volumes', []):
            source = str(volume).split(':')[0]
            if not source.startswith(('.', '/', '$')):
                assert source in declared, (name, volume)



def test_rt_cpuset_notes_match_the_orin_profiles(resolved):
    """The compose file tells which core each JetPack 6 profile pins the RT loop to, and its
    default cpuset is orin_nano's; both must follow the profiles."""
    text = COMPOSE.read_text()
    for model in ('orin_nano', 'orin_nx', 'agx_orin'):
        profile = load_yaml(ROOT / 'config' / 'profiles' / f'{model}.yaml')
        rt = (profile.get('nodes') or {}).get('rt_executor')
        if not rt or 'cpu' not in (rt.get('parameters') or {}):
            pytest.skip(f'{model} does not pin rt_executor to a core')
        cpu = rt['parameters']['cpu']
        assert re.search(rf'\b{model} {cpu}\b', text), f'compose notes a wrong rt core for {model}'
        if model == 'orin_nano':
            assert resolved['rt']['cpuset'] == str(cpu)


@pytest.mark.parametrize('profile', [p for p in available_profiles() if p != 'sim'])
def test_imu_calibration_directory_is_a_writable_volume(profile, services, compose):
    """The root filesystem is read-only: the directory the profile saves the IMU's calibration
    to must be a volume of the imu service, or every save fails (and the offsets are lost at
    each power cycle)."""
    calibration = load_profile(profile).data['nodes']['imu']['parameters'].get('calibration_file')
    if not calibration:
        pytest.skip(f'{profile} saves no IMU calibration')
    directory = str(PurePosixPath(calibration).parent)
    mounts = {str(v).split(':')[1]: str(v) for v in services['imu']['volumes']}
    assert directory in mounts, f'imu has no volume at {directory} ({profile}: {calibration})'
    source, _, rest = mounts[directory].partition(':')
    assert not rest.endswith(':ro'), mounts[directory]
    assert source in (compose.get('volumes') or {}), f'{source} is not a named volume'
