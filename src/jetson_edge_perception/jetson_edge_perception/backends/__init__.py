"""Inference backends behind one interface (`base.Backend`), looked up by the names model cards use.

Backend modules are imported only when asked for, and they import their heavy library only on
`activate()`, so listing or checking backends never loads TensorRT, CUDA or ONNX Runtime.
"""

from __future__ import annotations

import importlib

from ..errors import BackendError
from ..model_card import BACKENDS, ModelCard
from .base import Backend, BackendOptions

_CLASSES = {
    'onnxruntime': ('onnxruntime_backend', 'OnnxRuntimeBackend'),
    'opencv_dnn': ('opencv_dnn_backend', 'OpenCvDnnBackend'),
    'tensorrt': ('tensorrt_backend', 'TensorRTBackend'),
    'jetson_inference': ('jetson_inference_backend', 'JetsonInferenceBackend'),
}
assert set(_CLASSES) == set(BACKENDS)

__all__ = ['Backend', 'BackendOptions', 'backend_class', 'create_backend', 'availability']


def backend_class(name: str) -> type[Backend]:
    """The class implementing backend `name` (one of model_card.BACKENDS)."""
    if name not in _CLASSES:
        raise BackendError(f'unknown backend {name!r}; known: {", ".join(_CLASSES)}')
    module_name, class_name = _CLASSES[name]
    module = importlib.import_module(f'{__name__}.{module_name}')
    return getattr(module, class_name)


def create_backend(name: str, card: ModelCard, *, options: BackendOptions | None = None) -> Backend:
    """An inactive backend `name` for `card` (enter it, or call activate(), to load the model)."""
    return backend_class(name)(card, options=options)


def availability() -> dict[str, tuple[bool, str]]:
    """For each backend: (importable here, reason). Imports no heavy library."""
    return {name: backend_class(name).available() for name in _CLASSES}
