"""Node parameters declared once, from a schema, with real descriptors.

Each node lists its parameters as :class:`ParamSpec` entries. :func:`declare_parameters`
declares them with a ``ParameterDescriptor`` carrying the description, read-only flag and
numeric range, so ``ros2 param describe`` tells the truth and rclpy itself refuses values out
of range. :func:`on_parameter_change` checks run-time sets against the same schema (choices,
read-only) and hands accepted values to the node. The validation is pure (:func:`validate`)
and so is the check of a parameter file against a schema (:func:`unknown_keys`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

_NUMBER = (int, float)


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: Any
    description: str
    min_value: float | None = None
    max_value: float | None = None
    read_only: bool = False
    choices: tuple | None = None
    dynamic: bool = False  # applied at run time by the node (otherwise changing it needs a restart)
    item_type: type | None = None  # element type of a list parameter whose default is empty

    def __post_init__(self) -> None:
        problem = validate(self, self.default)
        if problem:
            raise ValueError(f'parameter {self.name!r}: default {self.default!r} is invalid: {problem}')

    @property
    def type_name(self) -> str:
        hint = _type_name(self.item_type()) if self.item_type is not None else 'string'
        return _type_name(self.default, hint)


def _type_name(value: Any, item_hint: str = 'string') -> str:
    if isinstance(value, bool):
        return 'bool'
    if isinstance(value, int):
        return 'int'
    if isinstance(value, float):
        return 'float'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, (list, tuple)):
        inner = {_type_name(v) for v in value} or {item_hint}
        if inner <= {'int', 'float'} and 'float' in inner:
            inner = {'float'}
        return f'{inner.pop()}[]' if len(inner) == 1 else 'mixed[]'
    return type(value).__name__


def validate(spec: ParamSpec, value: Any) -> str | None:
    """Returns why ``value`` is not acceptable for ``spec``, or None when it is."""
    want = spec.type_name
    got = _type_name(value)
    if want != got and not (want == 'float' and got == 'int') and not (
            want.endswith('[]') and got.endswith('[]') and (
                not value or want == 'float[]' and got == 'int[]')):
        return f'expected {want}, got {got} ({value!r})'
    if isinstance(value, _NUMBER) and not isinstance(value, bool):
        if spec.min_value is not None and value < spec.min_value:
            return f'{value} is below the minimum {spec.min_value}'
        if spec.max_value is not None and value > spec.max_value:
            return f'{value} is above the maximum {spec.max_value}'
    if spec.choices is not None and value not in spec.choices:
        return f'{value!r} is not one of {", ".join(map(repr, spec.choices))}'
    return None


def unknown_keys(specs: Iterable[ParamSpec], values: dict[str, Any]) -> list[str]:
    """Keys of ``values`` that no spec declares (so a typo in a parameter file is reported)."""
    known = {s.name for s in specs}
    return sorted(k for k in values if k not in known)


def spec_table(specs: Sequence[ParamSpec]) -> list[dict[str, Any]]:
    """Rows describing each parameter, for documentation generated from the schema."""
    rows = []
    for s in specs:
        bounds = ''
        if s.min_value is not None or s.max_value is not None:
            bounds = f'[{s.min_value if s.min_value is not None else ""}, ' \
                     f'{s.max_value if s.max_value is not None else ""}]'
        if s.choices:
            bounds = ' | '.join(map(str, s.choices))
        rows.append({'name': s.name, 'type': s.type_name, 'default': s.default,
                     'range': bounds, 'read_only': s.read_only, 'dynamic': s.dynamic,
                     'description': s.description})
    return rows


# --- rclpy wiring (imported lazily so the schema above stays usable without ROS) -------------

def _descriptor(spec: ParamSpec):
    from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                    ParameterType)

    types = {'bool': ParameterType.PARAMETER_BOOL, 'int': ParameterType.PARAMETER_INTEGER,
             'float': ParameterType.PARAMETER_DOUBLE, 'string': ParameterType.PARAMETER_STRING,
             'bool[]': ParameterType.PARAMETER_BOOL_ARRAY,
             'int[]': ParameterType.PARAMETER_INTEGER_ARRAY,
             'float[]': ParameterType.PARAMETER_DOUBLE_ARRAY,
             'string[]': ParameterType.PARAMETER_STRING_ARRAY}
    extra = ''
    if spec.choices:
        extra = ' One of: ' + ', '.join(map(str, spec.choices)) + '.'
    if not spec.dynamic and not spec.read_only:
        extra += ' Takes effect on restart.'
    d = ParameterDescriptor(description=spec.description + extra, read_only=spec.read_only,
                            type=types.get(spec.type_name, ParameterType.PARAMETER_NOT_SET))
    if spec.min_value is not None and spec.max_value is not None:
        if spec.type_name == 'int':
            d.integer_range = [IntegerRange(from_value=int(spec.min_value),
                                            to_value=int(spec.max_value), step=0)]
        elif spec.type_name == 'float':
            d.floating_point_range = [FloatingPointRange(from_value=float(spec.min_value),
                                                         to_value=float(spec.max_value), step=0.0)]
    return d


def _initial_value(spec: ParamSpec):
    # rclpy cannot infer an array type from an empty list: declare the type instead.
    if isinstance(spec.default, (list, tuple)) and not spec.default:
        from rclpy.parameter import Parameter
        return {'int[]': Parameter.Type.INTEGER_ARRAY, 'float[]': Parameter.Type.DOUBLE_ARRAY,
                'bool[]': Parameter.Type.BOOL_ARRAY}.get(spec.type_name,
                                                          Parameter.Type.STRING_ARRAY)
    if isinstance(spec.default, tuple):
        return list(spec.default)
    return spec.default


def declare_parameters(node, specs: Sequence[ParamSpec]) -> dict[str, Any]:
    """Declares every spec on ``node`` and returns the values in effect (overrides applied).

    A value from a parameter file that the schema refuses raises ``ValueError`` naming the
    parameter and the reason (rclpy's own range check raises ``InvalidParameterValueException``).
    Overrides for names the schema does not know are logged as errors, never silently ignored.
    """
    values = {}
    for spec in specs:
        param = node.declare_parameter(spec.name, _initial_value(spec), _descriptor(spec))
        value = param.value
        problem = validate(spec, value) if value is not None else None
        if problem:
            raise ValueError(f'parameter {spec.name!r}: {problem}')
        values[spec.name] = value if value is not None else spec.default
    overrides = getattr(node, '_parameter_overrides', {}) or {}
    extra = unknown_keys(specs, {k: None for k in overrides if not k.startswith(('qos_overrides', 'use_sim_time'))})
    for name in extra:
        node.get_logger().error(
            f'parameter {name!r} is set (parameter file or command line) but this node does not '
            f'declare it: check its spelling and the node name the file is keyed to')
    return values


def on_parameter_change(node, specs: Sequence[ParamSpec],
                        apply: Callable[[str, Any], None]) -> None:
    """Validates run-time parameter sets against the schema; accepted ones go to ``apply``.

    Non-dynamic parameters are refused at run time with the reason, instead of being stored
    and silently ignored until the next start.
    """
    from rcl_interfaces.msg import SetParametersResult

    by_name = {s.name: s for s in specs}

    def callback(params) -> SetParametersResult:
        for p in params:
            spec = by_name.get(p.name)
            if spec is None:
                continue
            if not spec.dynamic:
                return SetParametersResult(
                    successful=False, reason=f'{p.name} cannot change at run time; restart the node')
            problem = validate(spec, p.value)
            if problem:
                return SetParametersResult(successful=False, reason=f'{p.name}: {problem}')
        for p in params:
            if p.name in by_name:
                apply(p.name, p.value)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(callback)
