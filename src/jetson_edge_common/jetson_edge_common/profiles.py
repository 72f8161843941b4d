"""Profiles: one YAML file per Jetson model with its hardware facts and every node's parameters.

A profile may ``extends:`` another file (a path relative to itself); mappings merge key by key,
anything else is replaced. Each file is validated on its own before merging, so an error names
the file that holds the bad key, the key's path and what was expected. The parameters of each
enabled node are checked against the schema its package installs
(:mod:`jetson_edge_common.schema_registry`); a node whose schema is not installed is an error.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from jetson_edge_common.config_location import CONFIG_ENV, ConfigNotFound, config_dir


class ProfileError(ValueError):
    """A profile cannot be loaded; the message names the file, the key and what was expected."""


# --- the profile schema -----------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    kind: type | tuple[type, ...]
    min_value: float | None = None
    max_value: float | None = None
    items: Any = None             # schema of list items (a Field or a dict schema)
    values: Any = None            # schema of mapping values when keys are free
    schema: dict | None = None    # schema of a mapping with known keys
    choices: tuple | None = None


def _f(kind, **kw) -> Field:
    return Field(kind, **kw)


POWER_MODE = {'id': _f(int, min_value=0), 'name': _f(str), 'watts': _f((int, float), min_value=0)}
_PATHS = _f((str, list))          # one sysfs path (glob allowed) or candidates, first found wins

# The power manager's layout of the board (jetson_edge_power.layout reads these sections).
THERMAL = {'zones_glob': _f(str), 'ignore': _f(list, items=_f(str)),
           'policy_zones': _f(list, items=_f(str)),
           'sw_throttle_c': _f((int, float), min_value=30, max_value=150),
           'shutdown_c': _f((int, float), min_value=30, max_value=150)}
RAIL_MONITOR = {'driver': _f(str, choices=('ina3221', 'ina3221x', 'ina238')), 'path': _PATHS,
                'label': _f(str)}
RAILS = {'total': _f(str), 'expected': _f(list, items=_f(str)),
         'monitors': _f(list, items=_f(dict, schema=RAIL_MONITOR))}
GPU_SYSFS = {'load': _PATHS, 'load_scale': _f((int, float), min_value=0),
             'cur_freq': _PATHS, 'max_freq': _PATHS}
EMC_SYSFS = {'cur_freq': _PATHS, 'util': _PATHS}
FAN = {'pwm': _PATHS, 'pwm_read': _PATHS, 'pwm_write': _PATHS, 'rpm': _PATHS,
       'pwm_max': _f(int, min_value=1)}
NVPMODEL = {'default': _f(int, min_value=0), 'ladder': _f(list, items=_f(int, min_value=0)),
            'modes': _f(list, items=_f(dict, schema=POWER_MODE)), 'status_file': _f(str)}
# A section that replaces the profile's own on releases older than ``l4t_below``.
JETPACK_VARIANT = {'l4t_below': _f(str), 'description': _f(str), 'nvpmodel': _f(dict, schema=NVPMODEL),
                   'thermal': _f(dict, schema=THERMAL), 'rails': _f(dict, schema=RAILS),
                   'gpu_sysfs': _f(dict, schema=GPU_SYSFS), 'fan': _f(dict, schema=FAN)}

HARDWARE = {
    'model': _f(str),
    'description': _f(str),
    'device_tree_match': _f(list, items=_f(str)),
    'soc': _f(str),
    'cpu': _f(str),
    'cpu_cores': _f(int, min_value=1, max_value=64),
    'gpu': _f(str),
    'gpu_cuda_cores': _f(int, min_value=0),
    'gpu_tensor_cores': _f(int, min_value=0),
    'dla_cores': _f(int, min_value=0, max_value=2),
    'memory_gb': _f((int, float), min_value=0.5, max_value=1024),
    'jetpack': _f(str),
    'thermal': _f(dict, schema=THERMAL),
    'rails': _f(dict, schema=RAILS),
    'gpu_sysfs': _f(dict, schema=GPU_SYSFS),
    'emc_sysfs': _f(dict, schema=EMC_SYSFS),
    'fan': _f(dict, schema=FAN),
    'cpufreq_glob': _f(str),
    'nvpmodel': _f(dict, schema=NVPMODEL),
    'jetpack_variants': _f(list, items=_f(dict, schema=JETPACK_VARIANT)),
}

SCHEDULING = {
    'nice': _f(int, min_value=-20, max_value=19),
    'cpu_affinity': _f(list, items=_f(int, min_value=0, max_value=255)),
}

EXPECTED_TOPIC = {
    'type': _f(str),
    'rate_hz': _f((int, float), min_value=0, max_value=100000),
    'qos': _f(str, choices=('sensor', 'reliable')),
}

NODE = {
    'enabled': _f(bool),
    'package': _f(str),
    'executable': _f(str),
    'name': _f(str),
    'namespace': _f(str),
    'description': _f(str),
    'respawn': _f(bool),
    'respawn_delay_s': _f((int, float), min_value=0, max_value=600),
    'max_restarts': _f(int, min_value=0, max_value=1000),
    'scheduling': _f(dict, schema=SCHEDULING),
    'remappings': _f(dict, values=_f(str)),
    'env': _f(dict, values=_f(str)),
    # Nodes started along with this one whenever it is selected (`--only`): in the sim, the
    # virtual sensor that feeds a driver.
    'companions': _f(list, items=_f(str)),
    # The process group the node runs in: the enabled nodes of one group share one process
    # (jetson_edge_bringup.plan); '' or none: a process of its own.
    'process': _f(str),
    'parameters': _f(dict, values=_f((str, int, float, bool, list))),
    # What the node publishes when healthy (topic relative to the node's namespace): the
    # whole-suite tests and `jetson-edge soak` check these rates.
    'expects': _f(dict, values=_f(dict, schema=EXPECTED_TOPIC)),
    # Parameters that reach real hardware, by kind (the catalogue declares them; a dress
    # rehearsal, jetson_edge_bringup.rehearsal, points them at the sim's stand-ins).
    'endpoints': _f(dict, values=_f(str, choices=('address', 'model_card', 'device', 'timing'))),
    # A stand-in's parameters copied from the node it stands in for: {parameter: node.parameter}.
    'mirrors': _f(dict, values=_f(str)),
}

PROFILE = {
    'extends': _f(str),
    'description': _f(str),
    'hardware': _f(dict, schema=HARDWARE),
    'nodes': _f(dict, values=_f(dict, schema=NODE)),
}

_KIND_NAMES = {str: 'a string', int: 'an integer', float: 'a number', bool: 'true or false',
               list: 'a list', dict: 'a mapping'}


def _kind_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if set(kinds) == {int, float}:
        return 'a number'
    return ' or '.join(_KIND_NAMES.get(k, k.__name__) for k in kinds)


def _check(value: Any, field: Field, path: str, errors: list[str]) -> None:
    kinds = field.kind if isinstance(field.kind, tuple) else (field.kind,)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        errors.append(f'{path}: expected {_kind_name(field.kind)}, got {value!r}')
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if field.min_value is not None and value < field.min_value:
            errors.append(f'{path}: {value} is below the minimum {field.min_value}')
        if field.max_value is not None and value > field.max_value:
            errors.append(f'{path}: {value} is above the maximum {field.max_value}')
    if field.choices is not None and value not in field.choices:
        errors.append(f'{path}: expected one of {", ".join(map(str, field.choices))}, got {value!r}')
    if isinstance(value, list) and field.items is not None:
        for i, item in enumerate(value):
            _check(item, field.items, f'{path}[{i}]', errors)
    if isinstance(value, dict):
        if field.schema is not None:
            _check_mapping(value, field.schema, path, errors)
        elif field.values is not None:
            for key, item in value.items():
                _check(item, field.values, f'{path}.{key}', errors)


def _check_mapping(data: dict, schema: dict, path: str, errors: list[str]) -> None:
    for key, value in data.items():
        where = f'{path}.{key}' if path else str(key)
        if key not in schema:
            errors.append(f'{where}: unknown key (expected one of: {", ".join(sorted(schema))})')
            continue
        _check(value, schema[key], where, errors)


def validate_file_data(data: Any, source: str) -> None:
    """Checks one profile file's own content against the schema; raises ProfileError."""
    if not isinstance(data, dict):
        raise ProfileError(f'{source}: expected a mapping at the top level, got {type(data).__name__}')
    errors: list[str] = []
    _check_mapping(data, PROFILE, '', errors)
    if errors:
        raise ProfileError('\n'.join(f'{source}: {e}' for e in errors))


# --- loading ----------------------------------------------------------------------------------

@dataclass
class Profile:
    name: str
    path: Path
    data: dict  # merged content, ``extends`` resolved

    @property
    def hardware(self) -> dict:
        return self.data.get('hardware', {})

    @property
    def nodes(self) -> dict:
        return self.data.get('nodes', {})


def profiles_dir() -> Path:
    """``<config>/profiles``: $JETSON_EDGE_CONFIG, else jetson_edge_bringup's installed share."""
    try:
        return config_dir() / 'profiles'
    except ConfigNotFound as exc:
        raise ProfileError(str(exc)) from None


def available_profiles(directory: Path | None = None) -> list[str]:
    directory = directory or profiles_dir()
    return sorted(p.stem for p in directory.glob('*.yaml') if not p.stem.startswith('_'))


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read(path: Path) -> dict:
    try:
        text = path.read_text(encoding='utf-8')
    except OSError as exc:
        raise ProfileError(f'{path}: cannot read ({exc.strerror})') from None
    except UnicodeDecodeError as exc:
        raise ProfileError(f'{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8') \
            from None
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise ProfileError(f'{path}: nested too deeply to be a profile') from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = f' line {mark.line + 1}, column {mark.column + 1}' if mark else ''
        problem = getattr(exc, 'problem', None) or str(exc)
        raise ProfileError(f'{path}:{where}: not valid YAML: {problem}') from None
    if data is None:
        data = {}
    validate_file_data(data, str(path))
    return data


def _load_chain(path: Path, seen: tuple[Path, ...]) -> dict:
    if path in seen:
        chain = ' -> '.join(str(p) for p in seen + (path,))
        raise ProfileError(f'{path}: extends: circular chain {chain}')
    data = _read(path)
    parent = data.pop('extends', None)
    if parent is None:
        return data
    parent_path = (path.parent / parent).resolve()
    if parent_path.name and not parent_path.suffix:
        parent_path = parent_path.with_suffix('.yaml')
    if not _is_file(parent_path, f'{path}: extends: {parent!r}'):
        raise ProfileError(f'{path}: extends: {parent!r} not found (looked for {parent_path})')
    return _merge(_load_chain(parent_path, seen + (path,)), data)


def _is_file(path: Path, what: str) -> bool:
    """``path.is_file()``; a name the filesystem cannot even look up (too long, no
    permission) is a ProfileError naming ``what`` instead of an OSError."""
    try:
        return path.is_file()
    except OSError as exc:
        raise ProfileError(f'{what}: cannot look up {str(path)[:200]} ({exc.strerror})') \
            from None


def resolve_path(name_or_path: str, directory: Path | None = None) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in ('.yaml', '.yml') or os.sep in name_or_path:
        if _is_file(candidate, name_or_path):
            return candidate.resolve()
        raise ProfileError(f'{name_or_path}: profile file not found')
    directory = directory or profiles_dir()
    path = directory / f'{name_or_path}.yaml'
    if not _is_file(path, f'profile {name_or_path!r}'):
        known = ', '.join(available_profiles(directory)) or 'none'
        raise ProfileError(f'profile {name_or_path!r} not found in {directory} (available: {known}, auto)')
    return path.resolve()


def load_profile(name_or_path: str, *, directory: Path | None = None,
                 check_parameters: bool = True) -> Profile:
    """Loads, merges and validates a profile by name (``config/profiles/<name>.yaml``) or path."""
    path = resolve_path(name_or_path, directory)
    data = _load_chain(path, ())
    errors = _check_nodes_complete(data)
    if check_parameters:
        errors += check_node_parameters(data)
    if errors:
        raise ProfileError('\n'.join(f'{path} (resolved): {e}' for e in errors))
    return Profile(name=path.stem, path=path, data=data)


def _check_nodes_complete(data: dict) -> list[str]:
    errors = []
    nodes = data.get('nodes', {})
    for key, node in nodes.items():
        for companion in node.get('companions', []):
            if companion not in nodes:
                errors.append(f'nodes.{key}.companions: no node {companion!r} in this profile')
        for required in ('package', 'executable'):
            if not node.get(required):
                errors.append(f'nodes.{key}.{required}: missing (every node needs one, '
                              f'usually inherited from _base.yaml)')
    return errors


def check_node_parameters(data: dict, *,
                          schema_for: Callable[[str, str], list] | None = None) -> list[str]:
    """Errors for parameters a node does not declare or whose value its schema refuses, and
    for enabled nodes whose schema is not installed (``schema_for`` defaults to the registry)."""
    from jetson_edge_common.params import unknown_keys, validate
    from jetson_edge_common.schema_registry import SchemaNotInstalled, node_schema

    schema_for = schema_for or node_schema
    errors = []
    for key, node in data.get('nodes', {}).items():
        if not node.get('enabled', True):
            continue
        try:
            specs = schema_for(node.get('package', ''), node.get('executable', ''))
        except SchemaNotInstalled as exc:
            errors.append(f'nodes.{key}: {exc}')
            continue
        params = node.get('parameters', {}) or {}
        for name in unknown_keys(specs, params):
            errors.append(f'nodes.{key}.parameters.{name}: unknown parameter for '
                          f'{node["executable"]} (it declares: {", ".join(s.name for s in specs)})')
        by_name = {s.name: s for s in specs}
        for name, value in params.items():
            if name in by_name:
                problem = validate(by_name[name], value)
                if problem:
                    errors.append(f'nodes.{key}.parameters.{name}: {problem}')
    return errors


# --- auto-detection ---------------------------------------------------------------------------

def read_device_tree_model(root: str | os.PathLike = '/') -> str | None:
    path = Path(root) / 'proc' / 'device-tree' / 'model'
    try:
        return path.read_bytes().rstrip(b'\x00\n').decode(errors='replace')
    except OSError:
        return None


def match_device_tree(*, root: str | os.PathLike = '/',
                      directory: Path | None = None) -> tuple[str | None, str | None]:
    """``(model, profile)``: the device-tree model string (None without a device tree) and the
    profile whose ``device_tree_match`` it contains, the longest pattern winning (None if none)."""
    model = read_device_tree_model(root)
    if model is None:
        return None, None
    directory = directory or profiles_dir()
    best: tuple[int, str] | None = None
    for name in available_profiles(directory):
        try:
            profile = load_profile(name, directory=directory, check_parameters=False)
        except ProfileError:
            continue
        for pattern in profile.hardware.get('device_tree_match', []):
            if pattern.lower() in model.lower() and (best is None or len(pattern) > best[0]):
                best = (len(pattern), name)
    return model, best[1] if best else None


def detect_profile(*, root: str | os.PathLike = '/', directory: Path | None = None,
                   fallback: str = 'sim') -> tuple[str, str]:
    """The profile ``auto`` means here: ``(name, explanation)``.

    Without a device tree (a laptop, CI) it is ``fallback``. On a board whose model matches no
    profile it raises ProfileError with the model string, the profiles there are and how to add
    one: a robot never gets the simulator by accident.
    """
    model_file = Path(root) / 'proc' / 'device-tree' / 'model'
    directory = directory or profiles_dir()
    model, name = match_device_tree(root=root, directory=directory)
    if model is None:
        return fallback, f'no {model_file}: not a Jetson, using the {fallback!r} profile'
    if name is None:
        known = ', '.join(available_profiles(directory)) or 'none'
        raise ProfileError(
            f'this board is {model!r} ({model_file}) and no profile in {directory} matches it '
            f'(profiles: {known}). Name one explicitly if it fits, or add one: copy the closest '
            f'model\'s profile to config/profiles/<name>.yaml in the source tree and rebuild (or '
            f'into a ${CONFIG_ENV}/profiles folder), set hardware.device_tree_match: [{model!r}] '
            f'and the board\'s facts, and check it with `jetson-edge profile validate <name>`.')
    return name, f'device-tree model {model!r} -> profile {name!r}'
