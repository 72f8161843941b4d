"""The sim's executables, schemas and actuator backend are registered where the plan, the
profile checks and the power manager look for them."""

from importlib.metadata import entry_points

from jetson_edge_common.schema_registry import node_schema
from jetson_edge_power.actuators import TOOL_BACKENDS, ToolBackend, load_tool_backend
from jetson_edge_sim.params import IMU_EMULATOR, THERMAL_MODEL, VIRTUAL_VELODYNE


def test_each_sim_node_has_its_schema_in_the_registry():
    assert node_schema('jetson_edge_sim', 'virtual_velodyne') == VIRTUAL_VELODYNE
    assert node_schema('jetson_edge_sim', 'imu_emulator') == IMU_EMULATOR
    assert node_schema('jetson_edge_sim', 'thermal_model_node') == THERMAL_MODEL


def test_the_power_manager_finds_the_sim_backend_through_its_entry_point():
    assert 'sim' in {ep.name for ep in entry_points(group=TOOL_BACKENDS)}
    backend = load_tool_backend('sim')
    assert isinstance(backend, ToolBackend)
    assert backend.command('nvpmodel', root='/r', layout='sim')[-1] == 'nvpmodel'
