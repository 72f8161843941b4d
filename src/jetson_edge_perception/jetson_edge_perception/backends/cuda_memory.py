"""Device buffers and a stream through cuda-python (preferred) or pycuda, for the TensorRT backend.

`open_cuda()` returns a `CudaApi` over whichever library imports; it raises BackendUnavailableError
saying which packages to install when neither does. CUDA memory belongs to a context, and a
thread can use it only while that context is current there: `current()` makes the binding's
context current in the calling thread for a block (the engine build thread needs it). Host arrays passed to the copies must be
C-contiguous numpy arrays (pageable; the copy is synchronous with respect to the host when pageable).
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Protocol

import numpy as np

from ..errors import BackendError, BackendUnavailableError


class CudaApi(Protocol):
    library: str

    def device_identity(self) -> str: ...

    def current(self) -> contextlib.AbstractContextManager[None]: ...

    def malloc(self, nbytes: int) -> int: ...

    def free(self, ptr: int) -> None: ...

    def stream(self) -> object: ...

    def stream_handle(self, stream: object) -> int: ...

    def htod(self, ptr: int, host: np.ndarray, stream: object) -> None: ...

    def dtoh(self, host: np.ndarray, ptr: int, stream: object) -> None: ...

    def synchronize(self, stream: object) -> None: ...

    def close(self) -> None: ...


class CudaPythonApi:
    """NVIDIA cuda-python runtime bindings (`cuda.bindings.runtime`, or `cuda.cudart` before 12.6)."""

    library = 'cuda-python'

    def __init__(self) -> None:
        try:
            from cuda.bindings import runtime as cudart
        except ImportError:
            from cuda import cudart  # type: ignore[no-redef]
        self._rt = cudart
        self._check(cudart.cudaFree(0), 'initialize the CUDA context')
        self._device = int(self._check(cudart.cudaGetDevice(), 'get the current device'))
        self._streams: list[object] = []

    def _check(self, result: tuple, what: str) -> object:
        err, *rest = result if isinstance(result, tuple) else (result,)
        if int(err) != 0:
            _, name = self._rt.cudaGetErrorName(err)
            raise BackendError(f'CUDA failed to {what}: {name.decode() if isinstance(name, bytes) else name}')
        return rest[0] if len(rest) == 1 else rest

    def device_identity(self) -> str:
        device = self._check(self._rt.cudaGetDevice(), 'get the current device')
        prop = self._check(self._rt.cudaGetDeviceProperties(device), 'read device properties')
        name = prop.name.decode(errors='replace').rstrip('\x00') if isinstance(prop.name, bytes) else str(prop.name)
        return f'{name} sm_{prop.major}{prop.minor}'

    @contextlib.contextmanager
    def current(self) -> Iterator[None]:
        # The runtime API binds a thread to its device's primary context on first use; a new thread
        # starts on device 0, so name ours.
        self._check(self._rt.cudaSetDevice(self._device), f'select device {self._device}')
        yield

    def malloc(self, nbytes: int) -> int:
        return int(self._check(self._rt.cudaMalloc(max(1, nbytes)), f'allocate {nbytes} bytes'))

    def free(self, ptr: int) -> None:
        self._check(self._rt.cudaFree(ptr), 'free device memory')

    def stream(self) -> object:
        stream = self._check(self._rt.cudaStreamCreate(), 'create a stream')
        self._streams.append(stream)
        return stream

    def stream_handle(self, stream: object) -> int:
        return int(stream)

    def htod(self, ptr: int, host: np.ndarray, stream: object) -> None:
        self._check(self._rt.cudaMemcpyAsync(ptr, host.ctypes.data, host.nbytes,
                                             self._rt.cudaMemcpyKind.cudaMemcpyHostToDevice, stream), 'copy to device')

    def dtoh(self, host: np.ndarray, ptr: int, stream: object) -> None:
        self._check(self._rt.cudaMemcpyAsync(host.ctypes.data, ptr, host.nbytes,
                                             self._rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, stream), 'copy to host')

    def synchronize(self, stream: object) -> None:
        self._check(self._rt.cudaStreamSynchronize(stream), 'synchronize the stream')

    def close(self) -> None:
        for stream in self._streams:
            self._rt.cudaStreamDestroy(stream)
        self._streams.clear()


class PyCudaApi:
    """pycuda driver API with its own context on device 0, current in the creating thread and inside `current()`."""

    library = 'pycuda'

    def __init__(self) -> None:
        import pycuda.driver as cuda
        cuda.init()
        self._cuda = cuda
        self._device = cuda.Device(0)
        self._context = self._device.make_context()
        self._allocations: dict[int, object] = {}

    def device_identity(self) -> str:
        major, minor = self._device.compute_capability()
        return f'{self._device.name()} sm_{major}{minor}'

    @contextlib.contextmanager
    def current(self) -> Iterator[None]:
        self._context.push()
        try:
            yield
        finally:
            self._cuda.Context.pop()

    def malloc(self, nbytes: int) -> int:
        allocation = self._cuda.mem_alloc(max(1, nbytes))
        self._allocations[int(allocation)] = allocation
        return int(allocation)

    def free(self, ptr: int) -> None:
        allocation = self._allocations.pop(ptr, None)
        if allocation is not None:
            allocation.free()

    def stream(self) -> object:
        return self._cuda.Stream()

    def stream_handle(self, stream: object) -> int:
        return int(stream.handle)

    def htod(self, ptr: int, host: np.ndarray, stream: object) -> None:
        self._cuda.memcpy_htod_async(ptr, host, stream)

    def dtoh(self, host: np.ndarray, ptr: int, stream: object) -> None:
        self._cuda.memcpy_dtoh_async(host, ptr, stream)

    def synchronize(self, stream: object) -> None:
        stream.synchronize()

    def close(self) -> None:
        for ptr in list(self._allocations):
            self.free(ptr)
        self._context.pop()


def open_cuda() -> CudaApi:
    """The first CUDA binding that imports and finds a device: cuda-python, then pycuda."""
    failures = []
    for factory in (CudaPythonApi, PyCudaApi):
        try:
            return factory()
        except ImportError as exc:
            failures.append(f'{factory.library}: {exc}')
        except BackendError as exc:
            failures.append(f'{factory.library}: {exc}')
        except Exception as exc:  # pycuda raises its own LogicError/RuntimeError on a machine without a GPU
            failures.append(f'{factory.library}: {type(exc).__name__}: {exc}')
    raise BackendUnavailableError('no usable CUDA binding for TensorRT device buffers ('
                                  + '; '.join(failures) + '); pip install cuda-python (or pycuda)')
