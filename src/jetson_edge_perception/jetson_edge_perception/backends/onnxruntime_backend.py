"""ONNX Runtime backend: CPU, and CUDA / TensorRT execution providers where the installed build has them.

Providers are explicit: the session is created with exactly the requested list, and activation
fails when ONNX Runtime did not enable a requested accelerator provider (it silently drops
unavailable ones otherwise). `description` reports the providers the session actually uses.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from jetson_edge_common.runtimes import runtime_present

from ..errors import BackendError, BackendUnavailableError
from .base import Backend


class OnnxRuntimeBackend(Backend):
    name = 'onnxruntime'

    @classmethod
    def available(cls) -> tuple[bool, str]:
        return runtime_present('onnxruntime')

    def _activate(self) -> None:
        if self.card.format != 'onnx':
            raise BackendError(f'onnxruntime runs ONNX models; {self.card.path} is {self.card.format}')
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendUnavailableError(f'ONNX Runtime is not installed: {exc}; pip install onnxruntime '
                                          f'(or onnxruntime-gpu for CUDA)') from exc
        path = self.model_path()
        requested = list(self.options.onnxruntime_providers)
        missing = [p for p in requested if p not in ort.get_available_providers()]
        if missing:
            raise BackendUnavailableError(
                f'ONNX Runtime {ort.__version__} has no {", ".join(missing)} (available: '
                f'{", ".join(ort.get_available_providers())})')
        session_options = ort.SessionOptions()
        session_options.log_severity_level = 3
        session_options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.options.intra_op_threads:
            session_options.intra_op_num_threads = self.options.intra_op_threads
        try:
            self._session = ort.InferenceSession(str(path), session_options, providers=requested)
        except Exception as exc:  # onnxruntime raises its own untyped errors; wrap at the seam
            raise BackendError(f'ONNX Runtime cannot load {path}: {exc}') from exc
        self._providers = tuple(self._session.get_providers())
        dropped = [p for p in requested if p != 'CPUExecutionProvider' and p not in self._providers]
        if dropped:
            raise BackendError(f'ONNX Runtime did not enable {", ".join(dropped)} for {path.name} '
                               f'(session uses {", ".join(self._providers)}); check the CUDA/TensorRT libraries')
        self._version = ort.__version__
        inputs = self._session.get_inputs()
        expected = self.card.input.name
        names = [i.name for i in inputs]
        if expected and expected not in names:
            raise BackendError(f'{self.card.path}: input.name {expected!r} is not an input of {path.name} ({names})')
        self._input_name = expected or names[0]
        self._output_names = [o.name for o in self._session.get_outputs()]
        batch_dim = next(i.shape for i in inputs if i.name == self._input_name)[0]
        if self.card.batch == 'dynamic' and isinstance(batch_dim, int):
            raise BackendError(f'{self.card.path} says batch: dynamic, but input {self._input_name!r} of '
                               f'{path.name} has a fixed batch of {batch_dim}; set batch: fixed in the card')

    @property
    def input_name(self) -> str:
        return getattr(self, '_input_name', None) or super().input_name

    @property
    def providers(self) -> tuple[str, ...]:
        return getattr(self, '_providers', ())

    @property
    def description(self) -> str:
        if not self.active:
            return self.name
        return f'onnxruntime {self._version} [{", ".join(self._providers)}]'

    def _infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            results = self._session.run(self._output_names, dict(feed))
        except Exception as exc:
            raise BackendError(f'ONNX Runtime inference failed: {exc}') from exc
        return dict(zip(self._output_names, results))

    def _close(self) -> None:
        self._session = None
