"""Every benchmark `jetson-edge bench NAME` offers is registered here, pointing at a `main`."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
GROUP = 'jetson_edge.benchmarks'


def registered() -> dict[str, str]:
    tree = ast.parse((PACKAGE / 'setup.py').read_text())
    entry_points = next(kw.value for node in ast.walk(tree) if isinstance(node, ast.Call)
                        for kw in node.keywords if kw.arg == 'entry_points')
    lines = ast.literal_eval(entry_points)[GROUP]
    return dict(line.replace(' ', '').split('=') for line in lines)


def test_each_package_benchmark_is_registered_by_name():
    assert set(registered()) == {'imu', 'lidar', 'ota', 'perception', 'perception-gpu', 'perception-multi',
                                 'power', 'record', 'rt', 'viewer'}


def test_each_registration_names_a_main_function_of_this_package():
    for name, target in registered().items():
        module, attribute = target.split(':')
        assert module.startswith('jetson_edge_bench.'), name
        path = PACKAGE / (module.replace('.', '/') + '.py')
        functions = {n.name for n in ast.parse(path.read_text()).body
                     if isinstance(n, ast.FunctionDef)}
        assert attribute in functions, f'{name}: {target}'
