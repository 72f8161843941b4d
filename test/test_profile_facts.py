"""Each profile's hardware facts must agree with the power manager's layout for that model:
they are written twice (the profile for people and the plan, the power package for its readers
and actuators), and a mismatch would make the manager refuse to act on a real board."""

import pytest

from jetson_edge_common.profiles import available_profiles, load_profile
from jetson_edge_power import models


@pytest.mark.parametrize('name', available_profiles())
def test_power_modes_match_the_power_managers_layout(name):
    profile = load_profile(name)
    power = profile.nodes.get('power_manager', {})
    layout = models.hardware(power.get('parameters', {}).get('hardware_model', name))
    nvpmodel = layout['nvpmodel']
    ours = [(m['id'], m['name'], float(m['watts'])) for m in profile.hardware['power_modes']]
    theirs = [(m['id'], m['name'], float(m['watts'])) for m in nvpmodel['modes']]
    assert ours == theirs
    assert profile.hardware['default_power_mode'] == nvpmodel['default']


@pytest.mark.parametrize('name', available_profiles())
def test_power_manager_asks_perception_for_a_parameter_it_has(name):
    """The manager sheds load by setting perception's rate parameter at run time: the name must
    be one perception declares as dynamic, and the rate asked for when cool must be the rate the
    profile gives perception (or every boot would override the profile)."""
    from jetson_edge_common.params import ParamSpec
    from jetson_edge_perception.params import SCHEMAS as PERCEPTION
    from jetson_edge_power.params import MANAGER_SPECS

    profile = load_profile(name)
    manager = {s.name: s.default for s in MANAGER_SPECS}
    manager.update(profile.nodes['power_manager'].get('parameters', {}))
    perception_node = profile.nodes.get('perception', {})
    if not manager['perception_node'] or not perception_node.get('enabled', True):
        pytest.skip(f'{name}: the power manager does not drive perception')
    specs: dict[str, ParamSpec] = {s.name: s for s in PERCEPTION[perception_node['executable']]}
    rate = specs.get(manager['perception_rate_param'])
    assert rate is not None and rate.dynamic, manager['perception_rate_param']
    assert perception_node.get('name', 'perception') == manager['perception_node'].strip('/')
    profile_rate = perception_node.get('parameters', {}).get(rate.name, rate.default)
    assert manager['perception_nominal_rate_hz'] == profile_rate
