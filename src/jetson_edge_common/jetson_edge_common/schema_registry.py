"""The registry of node parameter schemas: each node package installs its own entries.

A package lists one entry point per executable in the group ``jetson_edge.parameter_schemas``
(name: the executable, value: ``module:attribute`` holding its list of ``ParamSpec``), so the
profile checks and the README tables find every installed node's schema without this package
importing the packages above it.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

GROUP = 'jetson_edge.parameter_schemas'


class SchemaNotInstalled(LookupError):
    """No installed package registers a parameter schema for this node."""


def _normalized(name: str) -> str:
    return name.replace('-', '_').lower()


def _entries() -> list[EntryPoint]:
    return list(entry_points(group=GROUP))


def installed_nodes() -> list[tuple[str, str]]:
    """(package, executable) of every registered schema, sorted."""
    return sorted((_normalized(ep.dist.name) if ep.dist else '', ep.name) for ep in _entries())


def node_schema(package: str, executable: str) -> list:
    """The ``ParamSpec`` list that ``package`` registers for ``executable``.

    Raises :class:`SchemaNotInstalled` naming what is installed when none is registered.
    """
    if not isinstance(package, str) or not isinstance(executable, str):
        raise SchemaNotInstalled(f'package and executable must be names, not {package!r} and '
                                 f'{executable!r}')
    for ep in _entries():
        if ep.name == executable and ep.dist is not None and \
                _normalized(ep.dist.name) == _normalized(package):
            return list(ep.load())
    known = ', '.join(f'{p}/{e}' for p, e in installed_nodes()) or 'none'
    raise SchemaNotInstalled(
        f'no parameter schema installed for {package}/{executable} (group {GROUP}); build and '
        f'source {package}, or fix the node\'s package/executable (installed: {known})')
