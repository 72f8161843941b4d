from pathlib import Path

import pytest

from jetson_edge_common.params import ParamSpec
from jetson_edge_common.profiles import (ProfileError, available_profiles, check_node_parameters,
                                         detect_profile, load_profile, match_device_tree,
                                         profiles_dir)

BASE = """
nodes:
  lidar:
    package: jetson_edge_lidar
    executable: velodyne_node
    parameters: {rpm: 600}
"""


def write(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / f'{name}.yaml').write_text(text)


def test_extends_merges_mappings(tmp_path):
    write(tmp_path, '_base', BASE)
    write(tmp_path, 'robot', 'extends: _base.yaml\nnodes:\n  lidar:\n    parameters: {port: 2368}\n')
    profile = load_profile('robot', directory=tmp_path)
    assert profile.nodes['lidar']['parameters'] == {'rpm': 600, 'port': 2368}
    assert profile.nodes['lidar']['executable'] == 'velodyne_node'
    assert available_profiles(tmp_path) == ['robot']


@pytest.mark.parametrize('text,needle', [
    ('nodes:\n  lidar:\n    pakage: x\n', 'nodes.lidar.pakage: unknown key'),
    # a stand-in is known by its package (jetson_edge_sim), never by a flag
    ('nodes:\n  lidar:\n    sim_only: true\n', 'nodes.lidar.sim_only: unknown key'),
    ('hardware:\n  cpu_cores: six\n', "hardware.cpu_cores: expected an integer, got 'six'"),
    ('hardware:\n  dla_cores: 3\n', 'hardware.dla_cores: 3 is above the maximum 2'),
    ('hardware:\n  nvpmodel:\n    modes:\n      - {id: 0, name: MAXN, watts: -1}\n',
     'hardware.nvpmodel.modes[0].watts: -1 is below the minimum 0'),
    ('hardware:\n  rails:\n    monitors:\n      - {driver: ina999, path: /x}\n',
     'hardware.rails.monitors[0].driver: expected one of ina3221, ina3221x, ina238'),
    ('nodes: [1, 2]\n', 'nodes: expected a mapping'),
    ('hardware: {cpu_cores: 4\n', 'not valid YAML'),
    ('extends: missing.yaml\n', "extends: 'missing.yaml' not found"),
    # Found by the profile_yaml fuzzer: the lookup itself failed with an OSError.
    (f'extends: {"a" * 300}\n', 'File name too long'),
    ('extends: /\n', "extends: '/' not found"),
])
def test_errors_name_file_key_and_expectation(tmp_path, text, needle):
    write(tmp_path, 'bad', text)
    with pytest.raises(ProfileError) as info:
        load_profile('bad', directory=tmp_path)
    assert needle in str(info.value)
    assert str(tmp_path / 'bad.yaml') in str(info.value)


def test_a_profile_name_too_long_to_look_up_is_a_profile_error(tmp_path):
    with pytest.raises(ProfileError, match='cannot look up'):
        load_profile('p' * 300, directory=tmp_path)


def test_circular_extends_is_reported(tmp_path):
    write(tmp_path, 'a', 'extends: b.yaml\n')
    write(tmp_path, 'b', 'extends: a.yaml\n')
    with pytest.raises(ProfileError, match='circular'):
        load_profile('a', directory=tmp_path)


def test_unknown_profile_lists_the_available_ones(tmp_path):
    write(tmp_path, 'sim', '{}\n')
    with pytest.raises(ProfileError, match=r"available: sim, auto"):
        load_profile('nano', directory=tmp_path)


def test_node_parameters_are_checked_against_the_node_schema():
    data = {'nodes': {'lidar': {'package': 'p', 'executable': 'e',
                                'parameters': {'rpm': 6000, 'prot': 1}}}}
    schema = [ParamSpec('rpm', 600, 'rpm', min_value=300, max_value=1200),
              ParamSpec('port', 2368, 'port')]
    errors = check_node_parameters(data, schema_for=lambda p, e: schema)
    assert any('nodes.lidar.parameters.prot: unknown parameter' in e for e in errors)
    assert any('nodes.lidar.parameters.rpm: 6000 is above the maximum 1200' in e for e in errors)


def test_auto_detection_reads_the_device_tree(tmp_path):
    root = tmp_path / 'root'
    (root / 'proc' / 'device-tree').mkdir(parents=True)
    (root / 'proc' / 'device-tree' / 'model').write_bytes(
        b'NVIDIA Jetson Orin Nano Developer Kit\x00')
    name, why = detect_profile(root=root)
    assert name == 'orin_nano' and 'Orin Nano' in why
    name, why = detect_profile(root=tmp_path / 'nowhere')
    assert name == 'sim' and 'not a Jetson' in why


def test_every_shipped_profile_loads():
    names = available_profiles(profiles_dir())
    assert {'sim', 'jetson_nano', 'jetson_tx2', 'xavier_nx', 'orin_nano', 'orin_nx',
            'agx_orin'} <= set(names)
    for name in names:
        profile = load_profile(name)
        nvpmodel = profile.hardware['nvpmodel']
        assert nvpmodel['default'] in [m['id'] for m in nvpmodel['modes']]


def _board(tmp_path, model: bytes):
    root = tmp_path / 'board'
    (root / 'proc' / 'device-tree').mkdir(parents=True)
    (root / 'proc' / 'device-tree' / 'model').write_bytes(model)
    return root


def test_auto_on_a_jetson_that_matches_no_profile_refuses_and_says_how_to_add_one(tmp_path):
    root = _board(tmp_path, b'NVIDIA Jetson AGX Xavier Developer Kit\x00')
    with pytest.raises(ProfileError) as error:
        detect_profile(root=root)
    message = str(error.value)
    assert "'NVIDIA Jetson AGX Xavier Developer Kit'" in message
    assert 'orin_nano' in message and 'sim' in message
    assert 'device_tree_match' in message and 'jetson-edge profile validate' in message


def test_match_device_tree_reports_without_refusing(tmp_path):
    assert match_device_tree(root=tmp_path / 'nowhere') == (None, None)
    root = _board(tmp_path, b'NVIDIA Jetson AGX Xavier Developer Kit\x00')
    assert match_device_tree(root=root) == ('NVIDIA Jetson AGX Xavier Developer Kit', None)


def test_profiles_are_found_through_the_ament_index_and_the_environment_overrides(tmp_path,
                                                                                  monkeypatch):
    from ament_index_python.packages import get_package_share_directory

    monkeypatch.delenv('JETSON_EDGE_CONFIG', raising=False)
    share = Path(get_package_share_directory('jetson_edge_bringup'))
    assert profiles_dir() == share / 'config' / 'profiles'
    monkeypatch.setenv('JETSON_EDGE_CONFIG', str(tmp_path))
    assert profiles_dir() == tmp_path / 'profiles'


def test_without_an_installed_bringup_the_error_says_what_to_do(monkeypatch):
    pytest.importorskip('ament_index_python', reason='the ament index is what is searched')
    monkeypatch.delenv('JETSON_EDGE_CONFIG', raising=False)
    monkeypatch.setenv('AMENT_PREFIX_PATH', '/nonexistent')
    with pytest.raises(ProfileError, match='source install/setup.bash, or set JETSON_EDGE_CONFIG'):
        profiles_dir()


def test_only_the_sims_stand_ins_come_from_the_sim_package_and_no_robot_profile_enables_one():
    def stand_ins(nodes):
        return {k for k, n in nodes.items()
                if n['package'] == 'jetson_edge_sim' and n.get('enabled', True)}

    assert stand_ins(load_profile('sim').nodes) == {'imu_emulator', 'lidar_sim', 'thermal_model'}
    # sim_spi: the IMU's stand-in lives in the driver's process (spi_backend sim)
    assert stand_ins(load_profile('sim_spi').nodes) == {'lidar_sim', 'thermal_model'}
    for name in available_profiles():
        profile = load_profile(name)
        if profile.hardware['model'] == 'sim':
            continue
        assert not stand_ins(profile.nodes), name
