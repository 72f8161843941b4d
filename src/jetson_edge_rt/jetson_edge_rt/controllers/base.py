"""The controller plug-in interface: configure, activate, update, deactivate (ros2_control's lifecycle).

`update` runs on the real-time thread every cycle: it reads its input buffers, writes its command
into the preallocated array it is given, and returns a `Level` member (no strings, no
allocation beyond Python floats). Everything that formats text (`status`) runs outside the loop.
"""
from __future__ import annotations

import abc
from typing import Any, ClassVar, Mapping, NamedTuple

import numpy as np

from jetson_edge_common.diagnostics import Level

from ..buffers import LatestValue


class ControllerParam(NamedTuple):
    """One controller parameter, declared by the node as `controller.<name>` with this range."""

    name: str
    default: Any
    description: str
    min_value: float | None = None
    max_value: float | None = None


class Controller(abc.ABC):
    """Base class of controllers found through the `jetson_edge.controllers` entry point group."""

    input_names: ClassVar[tuple[str, ...]] = ()
    """Inputs the controller reads (e.g. 'imu'); the executor creates one LatestValue per name."""

    parameters: ClassVar[tuple[ControllerParam, ...]] = ()
    """The parameters `configure` accepts, with defaults; unknown keys are refused."""

    @abc.abstractmethod
    def configure(self, params: Mapping[str, Any], inputs: Mapping[str, LatestValue]) -> None:
        """Validate `params` and keep references to `inputs`; raise ConfigError saying what is wrong."""

    @property
    @abc.abstractmethod
    def command_names(self) -> tuple[str, ...]:
        """Names of the command vector's elements (joint names); empty for a controller with no output."""

    def activate(self, now_ns: int) -> None:
        """Called on the loop thread just before the first update."""

    @abc.abstractmethod
    def update(self, now_ns: int, dt_ns: int, command: np.ndarray) -> Level:
        """One cycle (real-time thread): write the command in place, return the cycle's health."""

    @abc.abstractmethod
    def safe_command(self, command: np.ndarray) -> None:
        """Write the output that is safe to hold when the controller cannot act."""

    def deactivate(self) -> None:
        """Called on the loop thread after the last update."""

    @abc.abstractmethod
    def status(self) -> tuple[Level, str, dict[str, str]]:
        """Level, message and key values for diagnostics (non-real-time thread)."""
