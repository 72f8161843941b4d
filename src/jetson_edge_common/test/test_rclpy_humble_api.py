"""The robots run Humble (rclpy 3.3): every rclpy name, keyword argument and context manager the
suite's modules use must exist there. Checked by reading the sources (no rclpy import) against
Humble's public API listed in rclpy_humble_api.txt (where it came from is in its header)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]
API_FILE = Path(__file__).with_name('rclpy_humble_api.txt')
NODE = 'rclpy.node.Node'
_NODE_FACTORIES = {'rclpy.create_node', NODE}


@dataclass(frozen=True)
class Signature:
    parameters: tuple[str, ...] | None  # None: not callable as listed (a module, attribute or property)
    returns_none: bool


def load_api(path: Path = API_FILE) -> dict[str, Signature]:
    api = {}
    for line in path.read_text().splitlines():
        if not line or line.startswith('#'):
            continue
        returns_none = line.endswith('->None')
        line = line.removesuffix('->None')
        name, _, rest = line.partition('(')
        parameters = tuple(p for p in rest.rstrip(')').split(',') if p) if rest else None
        api[name] = Signature(parameters, returns_none)
    return api


def _dotted(node: ast.expr) -> list[str] | None:
    """['a', 'b', 'c'] for the expression a.b.c, None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


class _Checker(ast.NodeVisitor):
    """Collects the uses of rclpy in one module that Humble's API does not have."""

    def __init__(self, api: dict[str, Signature], where: str) -> None:
        self.api = api
        self.where = where
        self.bound: dict[str, str] = {}  # local dotted name -> rclpy qualified name
        self.node_classes: list[set[str]] = []  # own members of the rclpy Node subclasses being visited
        self.problems: list[str] = []
        self.listed_parents = {name.rsplit('.', 1)[0] for name in api if '.' in name}

    def _problem(self, node: ast.AST, message: str) -> None:
        self.problems.append(f'{self.where}:{node.lineno}: {message}')

    def _require(self, node: ast.AST, name: str) -> None:
        if name not in self.api:
            self._problem(node, f'{name} does not exist in Humble')

    def resolve(self, node: ast.expr) -> str | None:
        parts = _dotted(node)
        if parts is None:
            return None
        if self.node_classes and parts[0] == 'self' and len(parts) > 1 and parts[1] not in self.node_classes[-1]:
            return '.'.join([NODE, *parts[1:]])
        for size in range(len(parts), 0, -1):
            target = self.bound.get('.'.join(parts[:size]))
            if target is not None:
                return '.'.join([target, *parts[size:]])
        return None

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split('.')[0] == 'rclpy':
                self._require(node, alias.name)
                self.bound[alias.asname or alias.name] = alias.name
                if alias.asname is None:
                    self.bound['rclpy'] = 'rclpy'

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module and node.module.split('.')[0] == 'rclpy':
            for alias in node.names:
                name = f'{node.module}.{alias.name}'
                self._require(node, name)
                self.bound[alias.asname or alias.name] = name

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if not any(self.resolve(base) == NODE for base in node.bases):
            self.generic_visit(node)
            return
        own = {item.name for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
        own |= {target.attr for target in ast.walk(node) if isinstance(target, ast.Attribute)
                and isinstance(target.ctx, ast.Store) and isinstance(target.value, ast.Name)
                and target.value.id == 'self'}
        self.node_classes.append(own)
        self.generic_visit(node)
        self.node_classes.pop()

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        if isinstance(node.value, ast.Call) and self.resolve(node.value.func) in _NODE_FACTORIES:
            for target in node.targets:
                parts = _dotted(target)
                if parts is not None:
                    self.bound['.'.join(parts)] = NODE

    def visit_arg(self, node: ast.arg) -> None:
        if node.annotation is not None and self.resolve(node.annotation) == NODE:
            self.bound[node.arg] = NODE

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = self.resolve(node)
        if name is None:
            self.generic_visit(node)
            return
        parts = name.split('.')
        # Every step of the chain must exist, down to a name the list has no members of (a
        # property's value, a name from rclpy's C extension): what lies below it is not checked.
        for size in range(2, len(parts) + 1):
            prefix = '.'.join(parts[:size])
            if prefix not in self.api:
                self._problem(node, f'{prefix} does not exist in Humble')
                return
            if prefix not in self.listed_parents:
                return

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        name = self.resolve(node.func)
        signature = self.api.get(name) if name else None
        if signature is None or signature.parameters is None:
            return
        if any(p.startswith('**') for p in signature.parameters):
            return
        for keyword in node.keywords:
            if keyword.arg is not None and keyword.arg not in signature.parameters:
                self._problem(node, f'{name}() has no argument {keyword.arg!r} in Humble')

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            call = item.context_expr
            name = self.resolve(call.func) if isinstance(call, ast.Call) else None
            if name in self.api and self.api[name].returns_none:
                self._problem(node, f'{name}() is not a context manager in Humble (it returns None)')
        self.generic_visit(node)


def humble_problems(source: str, where: str, api: dict[str, Signature]) -> list[str]:
    checker = _Checker(api, where)
    checker.visit(ast.parse(source))
    return checker.problems


def _suite_modules() -> list[Path]:
    return sorted(path for package in SRC.iterdir() if (package / 'setup.py').is_file()
                  for path in (package / package.name).rglob('*.py'))


def test_suite_uses_only_rclpy_api_that_humble_has():
    api = load_api()
    modules = _suite_modules()
    using = [m for m in modules if 'rclpy' in m.read_text()]
    assert len(using) >= 10, f'expected the node modules among {len(modules)} modules, found {using}'
    problems = [p for m in using for p in humble_problems(m.read_text(), str(m.relative_to(SRC)), api)]
    assert problems == []


def test_jazzy_only_api_is_caught():
    jazzy_node = '''
import rclpy
from rclpy.node import Node
from rclpy.event_handler import PublisherEventCallbacks
from rclpy.qos import QoSProfile


class Sensor(Node):
    def __init__(self):
        super().__init__('sensor')
        self.timer = self.create_timer(0.1, self.tick, autostart=False)
        self.create_publisher(int, 'x', QoSProfile(depth=1))

    def tick(self):
        self.timer.cancel()


def main():
    with rclpy.init():
        node = rclpy.create_node('helper')
        node.get_logger().info('up')
        node.create_subscription(int, 'x', print, 1, qos_overriding_options=None, raw=True)  # raw: Humble has it
        rclpy.spin(node, executor=rclpy.executors.EventsExecutor())
'''
    problems = [p.split(': ', 1)[1] for p in humble_problems(jazzy_node, 'jazzy.py', load_api())]
    assert problems == [
        'rclpy.event_handler.PublisherEventCallbacks does not exist in Humble',
        "rclpy.node.Node.create_timer() has no argument 'autostart' in Humble",
        'rclpy.init() is not a context manager in Humble (it returns None)',
        'rclpy.executors.EventsExecutor does not exist in Humble',
    ]
