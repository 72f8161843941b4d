"""The sim's executables, schemas and actuator backend are registered where the plan, the
profile checks and the power manager look for them, and the backend works where it is found."""

from importlib.metadata import entry_points

from jetson_edge_common.schema_registry import node_schema
from jetson_edge_power.actuation import actuators_for
from jetson_edge_power.actuators import TOOL_BACKENDS, ToolBackend, load_tool_backend
from jetson_edge_power.hardware import layout_of
from jetson_edge_power.params import MANAGER_SPECS
from jetson_edge_power.sysfs import SysfsRoot
from jetson_edge_sim.params import IMU_EMULATOR, THERMAL_MODEL, VIRTUAL_VELODYNE
from jetson_edge_sim.power.thermal_model import ThermalModel


def test_each_sim_node_has_its_schema_in_the_registry():
    assert node_schema('jetson_edge_sim', 'virtual_velodyne') == VIRTUAL_VELODYNE
    assert node_schema('jetson_edge_sim', 'imu_emulator') == IMU_EMULATOR
    assert node_schema('jetson_edge_sim', 'thermal_model_node') == THERMAL_MODEL


def test_the_power_manager_finds_the_sim_backend_through_its_entry_point():
    assert 'sim' in {ep.name for ep in entry_points(group=TOOL_BACKENDS)}
    backend = load_tool_backend('sim')
    assert isinstance(backend, ToolBackend)
    assert backend.command('nvpmodel', root='/r', layout='sim')[-1] == 'nvpmodel'


def test_the_power_managers_sim_backend_acts_on_the_thermal_models_tree(tmp_path):
    layout, _ = layout_of('sim')
    ThermalModel(layout, tmp_path)  # writes the board's sysfs tree
    values = {**{s.name: s.default for s in MANAGER_SPECS}, 'actuator_backend': 'sim',
              'sysfs_root': str(tmp_path), 'jetson_clocks_store': str(tmp_path / 'dfs.conf')}
    acts = actuators_for(values, layout, SysfsRoot(tmp_path), layout_source='sim')
    lowest = layout.ladder()[-1]
    assert acts.nvpmodel.set_mode(lowest.id).message.endswith('set and confirmed')
    assert acts.clocks.enable().ok and acts.clocks.locked() is True
    assert acts.nvpmodel.history[0][:-2] == load_tool_backend('sim').command(
        'nvpmodel', root=str(tmp_path), layout='sim')
