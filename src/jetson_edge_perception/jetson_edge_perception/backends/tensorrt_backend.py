"""TensorRT backend: ONNX -> cached engine (FP32/FP16/INT8, optional DLA) -> execution on the GPU.

Activation gets the engine from the `EngineManager` (a cache hit when model hash, TensorRT version,
GPU, precision, DLA core and the card's sparsity all match; otherwise a build) and loads it. An
engine that fails to deserialize despite a matching key is discarded and rebuilt once, not fatal. Engines build in
`activate()`, i.e. in whichever thread activates: `runner.open_runner` does that in a background
thread while another backend serves. Where TensorRT is absent, `activate()` raises
BackendUnavailableError("TensorRT is not installed: ...").
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import platformdirs
from jetson_edge_common.runtimes import runtime_present

from ..errors import BackendError
from ..model_card import resolve_model_file
from .base import Backend
from .engine_cache import BuildSettings, EngineCache, EngineManager

_LOG = logging.getLogger(__name__)
ENGINE_CACHE_ENV = 'JETSON_EDGE_ENGINE_CACHE'


def default_engine_cache_dir() -> Path:
    """`JETSON_EDGE_ENGINE_CACHE`, else the user cache directory's `engines/`."""
    env = os.environ.get(ENGINE_CACHE_ENV)
    return Path(env) if env else Path(platformdirs.user_cache_dir('jetson_edge')) / 'engines'


class TensorRTBackend(Backend):
    name = 'tensorrt'
    #: Builds the real toolkit; tests put a fake with the same interface here (the module seam).
    toolkit_factory: Callable[..., object] | None = None

    @classmethod
    def available(cls) -> tuple[bool, str]:
        ok, why = runtime_present('tensorrt')
        if not ok:
            return False, 'TensorRT is not installed (tensorrt not importable)'
        cuda_ok, cuda_why = runtime_present('cuda_python')
        return (True, 'tensorrt found') if cuda_ok else (False, f'TensorRT needs cuda-python or pycuda: {cuda_why}')

    def build_settings(self) -> BuildSettings:
        card, opts = self.card, self.options
        spec = card.tensorrt
        cal = spec.calibration
        cache_dir = self.engine_cache_dir()

        def card_path(value: str | None) -> Path | None:
            if value is None:
                return None
            path = Path(value)
            return path if path.is_absolute() else card.path.parent / path

        precision = opts.precision or spec.precision
        return BuildSettings(
            precision=precision,
            workspace_mb=opts.workspace_mb or spec.workspace_mb,
            max_batch=opts.max_batch if card.batch == 'dynamic' else 1,
            dla_core=spec.dla_core if opts.dla_core is None else opts.dla_core,
            calibration_images=card_path(str(opts.extra['calibration_images'])) if opts.extra.get(
                'calibration_images') else card_path(cal.images),
            calibration_algorithm=str(opts.extra.get('calibration_algorithm', cal.algorithm)),
            calibration_batch_size=cal.batch_size,
            calibration_max_images=cal.max_images,
            calibration_cache=card_path(cal.cache) or cache_dir / f'{card.name}.int8.calibration',
            timing_cache=cache_dir / 'timing.cache',
            sparse_weights=card.sparsity is not None,
        )

    def engine_cache_dir(self) -> Path:
        return Path(self.options.engine_cache_dir) if self.options.engine_cache_dir else default_engine_cache_dir()

    def _toolkit(self) -> object:
        factory = type(self).toolkit_factory
        if factory is None:
            from .tensorrt_toolkit import TensorRTToolkit
            factory = TensorRTToolkit
        return factory(input_spec=self.card.input)

    def manager(self) -> EngineManager:
        """The engine manager (imports TensorRT: raises BackendUnavailableError where it is missing)."""
        if getattr(self, '_manager', None) is None:
            self._toolkit_obj = self._toolkit()
            self._manager = EngineManager(EngineCache(self.engine_cache_dir()), self._toolkit_obj)
        return self._manager

    def engine_path(self, *, build: bool) -> Path | None:
        """The cached engine for the current key; with `build`, build it first when missing."""
        if self.card.format == 'engine':
            return resolve_model_file(self.card, self.card.file, search_dirs=self.options.search_dirs)
        manager = self.manager()  # first: without TensorRT, say so before anything else
        onnx = self.model_path()
        settings = self.build_settings()
        key = manager.key_for(onnx, settings, model_name=self.card.name)
        path = manager.cached(key)
        if path is None and build:
            path = manager.build(onnx, settings, key)
        return path

    def _activate(self) -> None:
        if self.card.format not in ('onnx', 'engine'):
            raise BackendError(f'TensorRT builds engines from ONNX; {self.card.path} is {self.card.format}')
        manager = self.manager()
        path = self.engine_path(build=True)
        try:
            self._runner = self._toolkit_obj.load(path.read_bytes())
        except BackendError as exc:
            if self.card.format == 'engine':
                raise
            _LOG.warning('cached engine %s does not load (%s); rebuilding', path, exc)
            settings = self.build_settings()
            key = manager.key_for(self.model_path(), settings, model_name=self.card.name)
            manager.cache.discard(key)
            path = manager.build(self.model_path(), settings, key)
            self._runner = self._toolkit_obj.load(path.read_bytes())
        self._engine_file = path
        self._precision = self.build_settings().precision
        self._check_batch()

    def _check_batch(self) -> None:
        """A `batch: dynamic` card needs an engine whose profile takes the node's max_batch."""
        largest = getattr(self._runner, 'max_batch', None)
        wanted = self.build_settings().max_batch
        if largest is not None and largest < wanted:
            self._runner.close()
            raise BackendError(f'{self.card.path} says batch: dynamic, but the engine of {self.card.file} takes '
                               f'batches of at most {largest} (not {wanted}): its ONNX input has a fixed batch; '
                               'set batch: fixed in the card')

    @property
    def description(self) -> str:
        if not self.active:
            return self.name
        return f'tensorrt {self._toolkit_obj.tensorrt_version} [{self._precision}, {self._engine_file.name}]'

    def _infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self._runner.infer(feed)

    def _close(self) -> None:
        runner = getattr(self, '_runner', None)
        if runner is not None:
            runner.close()
            self._runner = None
