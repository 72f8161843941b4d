"""Which inference runtimes this machine has: the one detection that the perception backends
(``availability()``) and ``jetson-edge doctor`` both use, so they cannot disagree.

Detection finds the modules without importing them: importing TensorRT or CUDA takes seconds
and initializes the GPU, which asking "is it here?" must not do.
"""

from __future__ import annotations

import importlib.util

#: runtime -> the modules any one of which provides it
RUNTIME_MODULES: dict[str, tuple[str, ...]] = {
    'tensorrt': ('tensorrt',),
    'cuda_python': ('cuda', 'pycuda'),
    'onnxruntime': ('onnxruntime',),
    'opencv': ('cv2',),
    'jetson_inference': ('jetson_inference', 'jetson.inference'),
}


def module_present(*names: str) -> tuple[bool, str]:
    """(found, reason): whether any of the modules ``names`` can be imported, without importing
    it (a parent package of a dotted name is imported)."""
    for name in names:
        try:
            if importlib.util.find_spec(name) is not None:
                return True, f'{name} found'
        except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
            continue
    return False, f'{" / ".join(names)} not importable'


def detect_runtimes() -> dict[str, tuple[bool, str]]:
    """For each runtime of :data:`RUNTIME_MODULES`: (found, reason)."""
    return {runtime: module_present(*modules) for runtime, modules in RUNTIME_MODULES.items()}


def runtime_present(runtime: str) -> tuple[bool, str]:
    """(found, reason) for one runtime of :data:`RUNTIME_MODULES`."""
    return module_present(*RUNTIME_MODULES[runtime])
