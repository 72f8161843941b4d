"""Controller plug-ins are found through the `jetson_edge.controllers` entry point group."""
import ast
from pathlib import Path

import pytest

from jetson_edge_rt.controllers import GROUP, available_controllers, load_controller
from jetson_edge_rt.controllers.balance import BalanceController
from jetson_edge_rt.errors import ControllerNotFoundError

SETUP_PY = Path(__file__).resolve().parents[1] / 'setup.py'


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A distribution on sys.path declaring entry points, as pip would install it."""
    def install(lines):
        info = tmp_path / 'fake_controllers-1.0.dist-info'
        info.mkdir()
        (info / 'METADATA').write_text('Metadata-Version: 2.1\nName: fake-controllers\nVersion: 1.0\n')
        (info / 'entry_points.txt').write_text(f'[{GROUP}]\n' + '\n'.join(lines) + '\n')
        monkeypatch.syspath_prepend(str(tmp_path))
    return install


def test_balance_is_loaded_by_name(installed):
    installed(['balance_test = jetson_edge_rt.controllers.balance:BalanceController'])
    assert 'balance_test' in available_controllers()
    assert load_controller('balance_test') is BalanceController


def test_unknown_name_lists_the_available_ones(installed):
    installed(['balance_test = jetson_edge_rt.controllers.balance:BalanceController'])
    with pytest.raises(ControllerNotFoundError, match="no controller 'walk'.*balance_test"):
        load_controller('walk')


def test_entry_point_that_is_not_a_controller_is_refused(installed):
    installed(['not_a_controller = jetson_edge_rt.timing:assess', 'broken = jetson_edge_rt.nowhere:X'])
    with pytest.raises(ControllerNotFoundError, match='not a Controller subclass'):
        load_controller('not_a_controller')
    with pytest.raises(ControllerNotFoundError, match='failed to import'):
        load_controller('broken')


def test_setup_py_registers_the_balance_controller():
    tree = ast.parse(SETUP_PY.read_text())
    entry_points = next(kw.value for node in ast.walk(tree) if isinstance(node, ast.Call)
                        for kw in node.keywords if kw.arg == 'entry_points')
    declared = ast.literal_eval(entry_points)
    assert 'balance = jetson_edge_rt.controllers.balance:BalanceController' in declared[GROUP]
