"""What a process group's ``node_container`` needs, without rclpy: its members, their node
classes (from the registry the node packages install) and which member a failure belongs to.

A node package lists each composable node in the entry-point group ``jetson_edge.nodes`` (name:
the node's executable, value: ``module:Class``, a ``rclpy.node.Node`` whose ``__init__`` takes
rclpy's ``Node`` keywords), so bringup finds it without importing the package from below.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import TracebackType

import yaml

GROUP = 'jetson_edge.nodes'


class NotComposable(LookupError):
    """No installed package registers a node class for this executable."""


class MembersFileError(ValueError):
    """A members file that cannot be read or does not say what a container needs."""


@dataclass(frozen=True)
class Member:
    key: str                    # the node's key in the profile
    package: str
    executable: str
    ros_arguments: list[str]    # its own --ros-args: name, namespace, parameter file, remappings

    @property
    def label(self) -> str:
        return f'{self.key} ({self.package}/{self.executable})'


def _normalized(name: str) -> str:
    return name.replace('-', '_').lower()


def node_class(package: str, executable: str):
    """The node class that ``package`` registers for ``executable`` (loaded, so importing it)."""
    for ep in entry_points(group=GROUP):
        if ep.name == executable and ep.dist is not None and \
                _normalized(ep.dist.name) == _normalized(package):
            return ep.load()
    raise NotComposable(
        f'{package}/{executable} registers no node class in {GROUP}, so it cannot share a '
        f'process; run it alone (no process: in its profile entry) or register its Node class')


def read_members(path: str | Path) -> list[Member]:
    try:
        document = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise MembersFileError(f'cannot read the members file {path}: {exc}') from None
    try:
        members = [Member(str(m['key']), str(m['package']), str(m['executable']),
                          [str(a) for a in m['ros_arguments']]) for m in document]
    except (TypeError, KeyError) as exc:
        raise MembersFileError(f'{path}: expected a list of members with key, package, '
                               f'executable and ros_arguments ({exc!r})') from None
    if not members:
        raise MembersFileError(f'{path}: no members')
    return members


def owner_of(tb: TracebackType | None, nodes: dict[str, object], *,
             started_by: str | None = None) -> str | None:
    """The key of the member node whose code raised: the innermost frame of ``tb`` that runs a
    method of one of ``nodes`` (key -> node object); else ``started_by``, the member that started
    the dying thread; else None."""
    owners = {id(node): key for key, node in nodes.items()}
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        key = owners.get(id(frame.f_locals.get('self')))
        if key is not None:
            return key
    return started_by
