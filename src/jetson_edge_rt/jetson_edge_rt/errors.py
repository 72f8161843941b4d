"""The exception tree of jetson_edge_rt: every error the package raises derives from RtError."""


class RtError(Exception):
    """Base class of the real-time executor's errors."""


class ConfigError(RtError, ValueError):
    """A loop, process or controller setting is out of range or inconsistent."""


class ControllerNotFoundError(RtError, LookupError):
    """No controller plug-in of that name is registered in the `jetson_edge.controllers` group."""


class ControllerError(RtError):
    """A controller failed in configure, activate, update or deactivate."""
