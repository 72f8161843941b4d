"""The package map of docs/DEVELOPING.md holds: no module imports a jetson_edge package that
docs/import_map.yaml does not allow it (nothing imports sim or bench, runtime packages use only
common and the messages, bringup reaches the runtime packages only through entry points).

Pure and fast: the imports are read with ``ast``, static ones and ``importlib.import_module``
calls with a literal name alike; nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / 'docs' / 'import_map.yaml'
PREFIX = 'jetson_edge_'


def load_map() -> dict[str, object]:
    packages = yaml.safe_load(MAP.read_text())['packages']
    return {name: entry['may_import'] for name, entry in packages.items()}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """(top-level jetson_edge package, line) of every absolute import in ``path``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (isinstance(node, ast.Call) and getattr(node.func, 'attr', getattr(node.func, 'id', ''))
              == 'import_module' and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            names = [node.args[0].value]
        found.update((n.split('.')[0], node.lineno) for n in names if n.startswith(PREFIX))
    return found


def forbidden_arrows(src: Path, allowed: dict[str, object]) -> list[str]:
    problems = []
    for package_dir in sorted(p for p in src.iterdir() if (p / 'package.xml').is_file()):
        package = package_dir.name
        if package not in allowed:
            problems.append(f'{package} is not in {MAP.name}: add it with the packages it may import')
            continue
        may = allowed[package]
        for path in sorted((package_dir / package).rglob('*.py')):
            for target, line in sorted(imported_packages(path)):
                if target == package or may == 'any' or target in may:
                    continue
                problems.append(f'{path.relative_to(src.parent)}:{line}: {package} -> {target} '
                                f'is not on the map (may import: {may or "nothing"})')
    return problems


def test_every_import_between_packages_is_an_arrow_of_the_map():
    assert forbidden_arrows(ROOT / 'src', load_map()) == []


def test_the_map_keeps_sim_and_bench_out_of_reach():
    allowed = load_map()
    for package, may in allowed.items():
        if may != 'any':
            assert not {'jetson_edge_sim', 'jetson_edge_bench'} & set(may), package
    assert all(allowed[p] == [] or set(allowed[p]) <= {'jetson_edge_common', 'jetson_edge_msgs'}
               for p in allowed if p not in ('jetson_edge_sim', 'jetson_edge_bench'))


@pytest.mark.parametrize('source, arrow', [
    ('from jetson_edge_sim.thermal_model import ThermalModel\n', 'jetson_edge_power -> jetson_edge_sim'),
    ('import jetson_edge_bench.rt\n', 'jetson_edge_power -> jetson_edge_bench'),
    ('import importlib\nimportlib.import_module("jetson_edge_imu.params")\n',
     'jetson_edge_power -> jetson_edge_imu'),
])
def test_a_forbidden_arrow_is_named_with_its_file_and_line(tmp_path, source, arrow):
    package = tmp_path / 'src' / 'jetson_edge_power'
    (package / 'jetson_edge_power').mkdir(parents=True)
    (package / 'package.xml').write_text('<package/>')
    (package / 'jetson_edge_power' / 'node.py').write_text('from jetson_edge_common import qos\n' + source)
    problems = forbidden_arrows(tmp_path / 'src', load_map())
    assert len(problems) == 1 and arrow in problems[0]
    assert problems[0].startswith('src/jetson_edge_power/jetson_edge_power/node.py:')


def test_a_package_missing_from_the_map_is_reported(tmp_path):
    (tmp_path / 'src' / 'jetson_edge_new').mkdir(parents=True)
    (tmp_path / 'src' / 'jetson_edge_new' / 'package.xml').write_text('<package/>')
    assert forbidden_arrows(tmp_path / 'src', load_map()) == [
        'jetson_edge_new is not in import_map.yaml: add it with the packages it may import']
