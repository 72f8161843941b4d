"""Full message definitions for recordings: a type's ``.msg`` text followed by the text of every
type it depends on, as rosbag2 stores them in MCAP schemas (encoding ``ros2msg``).

The layout follows rosbag2's local message definition source: the root text, then for each
dependency not yet written (depth first, in sorted order) a line of 80 ``=``, ``MSG: pkg/Type``
and that type's text. Definitions are read from the installed interface packages'
``share/<pkg>/msg/<Type>.msg`` (the ament index). Pure: no rclpy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

ENCODING = 'ros2msg'
DELIMITER = '=' * 80

# A field's type at the start of a line ("foo_msgs/Bar" in "foo_msgs/Bar[] bar").
_FIELD_TYPE = re.compile(r'(?:^|\n)\s*([a-zA-Z0-9_/]+)(?:\[[^\]]*\])?\s+')
_PRIMITIVES = frozenset({'bool', 'byte', 'char', 'float32', 'float64', 'int8', 'uint8', 'int16',
                         'uint16', 'int32', 'uint32', 'int64', 'uint64', 'string', 'wstring'})
_TYPE_NAME = re.compile(r'^([a-zA-Z]\w*)/(?:msg/)?([a-zA-Z]\w*)$')


class DefinitionError(LookupError):
    """A message type whose definition cannot be found or understood."""


def split_type(type_name: str) -> tuple[str, str]:
    """``'sensor_msgs/msg/Image'`` or ``'sensor_msgs/Image'`` -> ``('sensor_msgs', 'Image')``."""
    match = _TYPE_NAME.match(type_name)
    if not match:
        raise DefinitionError(f'{type_name!r} is not a message type name (package/msg/Type)')
    return match.group(1), match.group(2)


def installed_msg_text(package: str, name: str) -> str:
    """The ``.msg`` file of ``package/name`` from the package's installed share directory."""
    try:
        share = Path(get_package_share_directory(package))
    except PackageNotFoundError:
        raise DefinitionError(f'interface package {package!r} is not installed (ament index); '
                              f'source the workspace that builds it') from None
    path = share / 'msg' / f'{name}.msg'
    if not path.is_file():
        raise DefinitionError(f'{path} does not exist: {package}/msg/{name} has no .msg definition')
    return path.read_text()


def dependencies(text: str, package: str) -> list[str]:
    """The non-primitive field types of a ``.msg`` text as ``pkg/Type``, sorted."""
    found = set()
    for match in _FIELD_TYPE.finditer(text):
        field_type = match.group(1)
        if field_type in _PRIMITIVES:
            continue
        found.add(field_type if '/' in field_type else f'{package}/{field_type}')
    return sorted(found)


def full_definition(type_name: str, *,
                    read: Callable[[str, str], str] = installed_msg_text) -> str:
    """The concatenated definition of ``type_name`` and its dependencies (see module docstring)."""
    seen: set[str] = set()

    def expand(package: str, name: str, depth: int) -> str:
        if depth == 0:
            raise DefinitionError(f'definition of {type_name} nests too deep (a cycle?)')
        text = read(package, name)
        result = text
        for dependency in dependencies(text, package):
            if dependency in seen:
                continue
            seen.add(dependency)
            dep_package, dep_name = split_type(dependency)
            result += f'\n{DELIMITER}\nMSG: {dependency}\n' + expand(dep_package, dep_name, depth - 1)
        return result

    return expand(*split_type(type_name), 50)
