"""ROS messages that Foxglove has no schema of its own for (IMU, diagnostics, loop timing) as
JSON, under their ROS type names: Foxglove's plots read any numeric field of a JSON message, and
its Diagnostics panels recognise ``diagnostic_msgs/msg/DiagnosticArray`` by that name.

The conversion walks the message's own field list (``get_fields_and_field_types``), so it serves
any ROS 2 message: nested messages become objects, arrays lists, ``byte``/``octet`` fields numbers.
"""

from __future__ import annotations

import array
import json
import math
from typing import Any

import numpy as np

_NUMERIC = ('float', 'double', 'int', 'uint', 'octet', 'byte', 'char', 'boolean')


def to_plain(value: Any) -> Any:
    """A ROS message or field value as JSON-ready Python (dicts, lists, numbers, strings)."""
    if hasattr(value, 'get_fields_and_field_types'):
        return {name: to_plain(getattr(value, name)) for name in value.get_fields_and_field_types()}
    if isinstance(value, (bytes, bytearray)):
        return value[0] if len(value) == 1 else list(value)
    if isinstance(value, (list, tuple, array.array)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_plain(v) for v in value.tolist()]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity
    if isinstance(value, np.generic):
        return value.item()
    return value


def _schema_type(ros_type: str) -> str:
    base = ros_type.split('<')[-1].rstrip('>').split('[')[0]
    if '[' in ros_type or ros_type.startswith('sequence'):
        return 'array'
    if base == 'string' or base.startswith('string') or base == 'wstring':
        return 'string'
    if base == 'boolean':
        return 'boolean'
    if any(base.startswith(n) for n in _NUMERIC):
        return 'number'
    return 'object'


def json_schema(message_class) -> dict:
    """A JSON Schema of the message's top-level fields (what Foxglove offers when completing a
    plot path)."""
    return {'type': 'object', 'title': ros_type_name(message_class),
            'properties': {name: {'type': _schema_type(t)}
                           for name, t in message_class.get_fields_and_field_types().items()}}


def ros_type_name(message_class) -> str:
    """``sensor_msgs/msg/Imu`` for the class of sensor_msgs.msg.Imu."""
    package = message_class.__module__.split('.')[0]
    return f'{package}/msg/{message_class.__name__}'


def to_json_bytes(msg) -> bytes:
    return json.dumps(to_plain(msg), separators=(',', ':'), allow_nan=False).encode()
