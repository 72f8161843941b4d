"""The one interface every inference backend implements.

A backend is a context-managed runner (Polygraphy style): construct it with a model card and
options, `activate()` (or enter the `with` block) to load the model, `infer(feed)` any number of
times from one thread, `close()` (or leave the block) to release it. Heavy libraries are imported
inside `activate`, never at module import, so a missing library fails there with a plain message.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Mapping

import numpy as np

from ..errors import BackendError
from ..model_card import ModelCard, resolve_model_file


@dataclass(frozen=True)
class BackendOptions:
    """Run-time choices a profile makes; None means "the card's / the backend's default".

    - `onnxruntime_providers`: execution providers to request, in order. Every one except
      CPUExecutionProvider must actually be used by the session, or activation fails.
    - `intra_op_threads`: CPU threads for ONNX Runtime (intra-op) and OpenCV (process-wide); 0: default.
    - `opencv_target`: `cpu`, `cuda` or `cuda_fp16` (OpenCV built with CUDA).
    - `precision`, `workspace_mb`, `dla_core`, `engine_cache_dir`: TensorRT engine build settings.
    - `search_dirs`: extra directories for relative model files; `assets_dir`: the asset cache.
    - `max_batch`: the largest batch a `batch: dynamic` card is run with (TensorRT's optimization profile).
    """

    onnxruntime_providers: tuple[str, ...] = ('CPUExecutionProvider',)
    intra_op_threads: int = 0
    opencv_target: str = 'cpu'
    precision: str | None = None
    workspace_mb: int | None = None
    dla_core: int | None = None
    engine_cache_dir: Path | None = None
    search_dirs: tuple[str, ...] = ()
    assets_dir: Path | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
    max_batch: int = 1


class Backend(abc.ABC):
    """Runs one model card. `infer` is not thread-safe: call it from one thread (the inference worker)."""

    name: ClassVar[str]
    #: True for backends that take the image and do pre- and post-processing themselves (jetson-inference).
    runs_own_pipeline: ClassVar[bool] = False

    def __init__(self, card: ModelCard, *, options: BackendOptions | None = None) -> None:
        self.card = card
        self.options = options or BackendOptions()
        self._active = False

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """(ok, reason): whether this backend's libraries are importable here. Cheap; imports nothing heavy."""
        return True, 'no extra library needed'

    def model_path(self, reference: str | None = None, *, key: str = 'file') -> Path:
        return resolve_model_file(self.card, reference or self.card.file, key=key,
                                  search_dirs=self.options.search_dirs, assets_dir=self.options.assets_dir)

    def __enter__(self) -> 'Backend':
        self.activate()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def activate(self) -> None:
        if not self._active:
            self._activate()
            self._active = True

    def close(self) -> None:
        if self._active:
            self._active = False
            self._close()

    @property
    def active(self) -> bool:
        return self._active

    def infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the model on named input tensors; returns named outputs (may be reused buffers: copy to keep)."""
        if not self._active:
            raise BackendError(f'{self.name} backend used before activate() (use it as a context manager)')
        return self._infer(feed)

    @property
    def description(self) -> str:
        """What actually runs, for logs and diagnostics (library version, providers, precision)."""
        return self.name

    @property
    def input_name(self) -> str:
        return self.card.input.name or 'input'

    @abc.abstractmethod
    def _activate(self) -> None: ...

    @abc.abstractmethod
    def _infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def _close(self) -> None:
        """Release what `_activate` acquired; default: nothing to release."""
