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
