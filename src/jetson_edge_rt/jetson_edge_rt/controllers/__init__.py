"""Controller plug-ins, found by name in the `jetson_edge.controllers` entry point group."""
from __future__ import annotations

from importlib.metadata import entry_points

from ..errors import ControllerNotFoundError
from .base import Controller, ControllerParam

GROUP = 'jetson_edge.controllers'

__all__ = ['GROUP', 'Controller', 'ControllerParam', 'available_controllers', 'load_controller']


def available_controllers() -> list[str]:
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def load_controller(name: str) -> type[Controller]:
    """The controller class registered as `name`; raises ControllerNotFoundError naming the choices."""
    matches = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not matches:
        available = ', '.join(available_controllers()) or 'none (is jetson_edge_rt installed?)'
        raise ControllerNotFoundError(f'no controller {name!r} in entry point group {GROUP!r}; available: {available}')
    try:
        cls = matches[0].load()
    except Exception as exc:
        raise ControllerNotFoundError(f'controller {name!r} ({matches[0].value}) failed to import: {exc}') from exc
    if not (isinstance(cls, type) and issubclass(cls, Controller)):
        raise ControllerNotFoundError(f'controller {name!r} ({matches[0].value}) is not a Controller subclass')
    return cls
