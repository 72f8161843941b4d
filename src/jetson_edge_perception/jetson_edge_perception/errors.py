"""The perception package's one exception hierarchy.

Every error raised by the core is a `PerceptionError`; foreign errors (OpenCV, ONNX Runtime,
TensorRT, pip) are wrapped at the seam where they occur, with a message that says what to do.
"""

from __future__ import annotations


class PerceptionError(Exception):
    """Base of every error this package raises."""


class ModelCardError(PerceptionError):
    """A model card is missing, malformed, or names something that does not exist."""

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        where = f'{source}: {key}' if key else source
        super().__init__(f'{where}: {problem}')
        self.source = source
        self.key = key
        self.problem = problem


class BackendUnavailableError(PerceptionError):
    """The library a backend needs is not installed or cannot run here (TensorRT on a laptop)."""


class BackendError(PerceptionError):
    """A backend that is installed failed to load a model or to run it."""


class EngineBuildPending(PerceptionError):
    """A TensorRT engine is being built in the background; serve from another backend meanwhile."""


class FrameError(PerceptionError):
    """An input frame cannot be used (unsupported encoding, zero size, inconsistent step, short data).

    `reason` is a short stable token used to count drops per cause.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class SourceError(PerceptionError):
    """A camera source cannot be opened or read."""


class AssetError(PerceptionError):
    """Fetching or verifying the registry-provided models and photos failed."""


class ModelFileError(PerceptionError):
    """A model file cannot be read, edited (pruned) or written."""
