"""Helpers of the deployment checks: where the repository is, how to find a linter, and
a YAML loader that reads files the way Docker Compose and GitHub do (YAML 1.2 booleans, so a
workflow's ``on:`` key stays a string)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from importlib import resources
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / 'docker'


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with only ``true``/``false`` as booleans (YAML 1.2 core schema)."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != 'tag:yaml.org,2002:bool']
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    'tag:yaml.org,2002:bool', re.compile(r'^(?:true|True|TRUE|false|False|FALSE)$'),
    list('tTfF'))


def load_yaml(path: Path) -> object:
    return yaml.load(path.read_text(), Loader=Yaml12Loader)  # noqa: S506 (a safe loader)


def find_tool(name: str) -> str | None:
    """The linter installed beside this Python (the project's venv) or else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def vendored_schema(name: str) -> dict:
    """A JSON schema that check-jsonschema vendors (``compose-spec``, ``github-workflows``)."""
    try:
        base = resources.files('check_jsonschema').joinpath('builtin_schemas', 'vendor')
    except ModuleNotFoundError:
        pytest.skip('check-jsonschema (which ships the schema) is not installed: '
                    'pip install -r requirements-test.txt')
    return json.loads(base.joinpath(f'{name}.json').read_text())


def schema_errors(schema: dict, document: object) -> list[str]:
    """Every violation, as ``path: message`` lines; empty when the document is valid."""
    jsonschema = pytest.importorskip('jsonschema')
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    return [f'{error.json_path}: {error.message}'
            for error in sorted(validator.iter_errors(document), key=lambda e: e.json_path)]


class MissingVariable(KeyError):
    """A ``${NAME:?message}`` whose variable is unset or empty."""


_VARIABLE = re.compile(r'\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)'
                       r'(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})')


def interpolate(value: object, env: dict[str, str]) -> object:
    """Compose's variable interpolation over a loaded document: ``${X}``, ``${X:-default}``,
    ``${X-default}``, ``${X:?error}``, ``${X?error}`` and ``$$``."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group(0) == '$$':
            return '$'
        name, op, arg = match.group('name', 'op', 'arg')
        current = env.get(name)
        unset = current is None or (op is not None and op.startswith(':') and current == '')
        if op in (':-', '-'):
            return arg if unset else current
        if op in (':?', '?'):
            if unset:
                raise MissingVariable(f'{name}: {arg}')
            return current
        return current or ''
    return _VARIABLE.sub(substitute, value)
