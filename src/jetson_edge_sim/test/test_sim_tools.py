"""The emulated nvpmodel and jetson_clocks drive the power package's real actuators: the same
command lines, output and read-back as on a Jetson, over the thermal model's tree."""

import pytest

from jetson_edge_power.actuators import JetsonClocksActuator, NvpmodelActuator
from jetson_edge_power.errors import ReadBackMismatchError
from jetson_edge_power.hardware import layout_of
from jetson_edge_power.monitor import BoardMonitor
from jetson_edge_power.sysfs import SysfsRoot
from jetson_edge_sim.power.sim_tools import in_process_runner, tool_command
from jetson_edge_sim.power.thermal_model import ThermalModel


def layout(profile, *, root='/'):
    return layout_of(profile, root=root)[0]


def jetpack_61_root(tmp_path):
    """A root whose release file says L4T 36.4.0 (JetPack 6.1)."""
    (tmp_path / 'jp61/etc').mkdir(parents=True)
    (tmp_path / 'jp61/etc/nv_tegra_release').write_text(
        '# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64\n')
    return tmp_path / 'jp61'


def test_sim_nvpmodel_round_trip_in_a_real_process(tmp_path):
    actuator = NvpmodelActuator(layout('sim'), command=tool_command('nvpmodel',
                                                                    root=str(tmp_path)))
    result = actuator.set_mode(3)
    assert result.ok and not result.dry_run and 'confirmed' in result.message
    assert actuator.query() == (3, '7W')
    assert (tmp_path / 'var/lib/nvpmodel/status').read_text().startswith('pmode:0003')

def test_layout_for_another_jetpack_is_caught_by_the_mode_name(tmp_path):
    # The board runs JetPack 6.2 (id 1 is 25W) but the layout was resolved for JetPack 6.1.
    actuator = NvpmodelActuator(layout('orin_nano', root=jetpack_61_root(tmp_path)),
                                command=tool_command('nvpmodel', root=str(tmp_path),
                                                     layout='orin_nano'),
                                runner=in_process_runner)
    with pytest.raises(ReadBackMismatchError, match='another module or JetPack'):
        actuator.set_mode(1)

def test_jetson_clocks_locks_and_restores_with_read_back(tmp_path):
    ThermalModel(layout('orin_nano'), tmp_path)  # writes the board's sysfs tree
    store = str(tmp_path / 'dfs.conf')
    clocks = JetsonClocksActuator(command=tool_command('jetson_clocks', root=str(tmp_path)),
                                  store_file=store, runner=in_process_runner)
    monitor = BoardMonitor(layout('orin_nano'), SysfsRoot(tmp_path, retry_s=0.0),
                           use_psutil=False, use_nvml=False)
    assert clocks.locked() is False and monitor.sample().clocks_locked is False
    assert clocks.enable().ok and clocks.locked() is True
    assert monitor.sample().metrics()['clocks_locked'] == 1.0  # read from sysfs, no root
    assert clocks.restore().ok and clocks.locked() is False
    assert monitor.sample().clocks_locked is False
    prefix = len(tool_command('jetson_clocks', root=str(tmp_path)))
    assert [argv[prefix:] for argv in clocks.history] == [('--store', store), (),
                                                          ('--restore', store)]
