"""Node schemas come from the registry the node packages install, never from importing them."""

import pytest

from jetson_edge_common.profiles import check_node_parameters
from jetson_edge_common.schema_registry import GROUP, SchemaNotInstalled, node_schema


def test_a_node_whose_schema_is_not_installed_is_named_in_the_error():
    with pytest.raises(SchemaNotInstalled) as err:
        node_schema('jetson_edge_gripper', 'gripper_node')
    assert 'jetson_edge_gripper/gripper_node' in str(err.value) and GROUP in str(err.value)


def test_a_profile_naming_an_uninstalled_node_fails_its_parameter_check():
    data = {'nodes': {'gripper': {'package': 'jetson_edge_gripper', 'executable': 'gripper_node',
                                  'parameters': {'force_n': 5.0}}}}
    errors = check_node_parameters(data)
    assert len(errors) == 1
    assert errors[0].startswith('nodes.gripper: no parameter schema installed for '
                                'jetson_edge_gripper/gripper_node')


def test_a_disabled_node_needs_no_installed_schema():
    data = {'nodes': {'gripper': {'package': 'jetson_edge_gripper', 'executable': 'gripper_node',
                                  'enabled': False}}}
    assert check_node_parameters(data) == []
