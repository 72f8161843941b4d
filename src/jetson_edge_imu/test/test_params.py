"""The node's parameter schema and the core's configuration cannot drift apart, and the
profiles give the driver a configuration that validates (sim: pointing at the emulator)."""

from dataclasses import fields

import pytest

pytest.importorskip('jetson_edge_common', reason='jetson_edge_common is not installed '
                    '(build the workspace: scripts/setup.sh)')

from jetson_edge_common.profiles import ProfileError, load_profile  # noqa: E402

from jetson_edge_imu.config import DriverConfig  # noqa: E402
from jetson_edge_imu.params import IMU_NODE, driver_config  # noqa: E402


def test_every_driver_setting_is_a_parameter_with_the_same_default():
    specs = {s.name: s for s in IMU_NODE}
    defaults = DriverConfig()
    for f in fields(DriverConfig):
        assert f.name in specs, f'{f.name} cannot be set from ROS'
        default = getattr(defaults, f.name)
        assert specs[f.name].default == (list(default) if isinstance(default, tuple)
                                         else default), f.name


def test_schema_defaults_make_a_valid_configuration():
    values = {s.name: s.default for s in IMU_NODE}
    assert driver_config(values) == DriverConfig().validate()


def _imu(profile: str) -> dict:
    try:
        return load_profile(profile).nodes
    except ProfileError as exc:
        pytest.skip(f'profiles not found from this install: {exc}')


def test_sim_profile_points_the_driver_at_the_emulator():
    nodes = _imu('sim')
    imu, emulator = nodes['imu'], nodes['imu_emulator']
    assert imu['parameters']['port'] == emulator['parameters']['link_path']
    specs = {s.name: s.default for s in IMU_NODE}
    config = driver_config({**specs, **imu['parameters']})
    assert config.device_type == 'bno055' and config.interface == 'uart'


@pytest.mark.parametrize('profile', ['jetson_nano', 'xavier_nx', 'orin_nano', 'agx_orin'])
def test_jetson_profiles_configure_a_real_device(profile):
    nodes = _imu(profile)
    assert not nodes.get('imu_emulator', {}).get('enabled', False)  # catalogued, never started
    specs = {s.name: s.default for s in IMU_NODE}
    config = driver_config({**specs, **nodes['imu']['parameters']})
    assert config.port.startswith('/dev/tty') and config.calibration_file
