"""Exception hierarchy of jetson_edge_power; every message says what to do about it."""


class PowerError(Exception):
    """Base of every error raised by this package."""


class LayoutError(PowerError):
    """A hardware layout (profile data) is malformed beyond what degrading can absorb."""


class ActuatorError(PowerError):
    """An actuator (nvpmodel, jetson_clocks, fan) could not apply a setting."""


class BinaryNotFoundError(ActuatorError):
    """The tool to run (nvpmodel, jetson_clocks) does not exist on this machine."""


class PermissionDeniedError(ActuatorError):
    """The process lacks the privilege to change the setting."""


class ReadBackMismatchError(ActuatorError):
    """The setting was written but reading it back shows a different value."""


class TegrastatsParseError(PowerError):
    """A tegrastats line carried none of the fields the parser knows."""
