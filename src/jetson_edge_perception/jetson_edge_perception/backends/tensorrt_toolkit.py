"""Everything that calls the TensorRT Python API: engine build from ONNX, deserialization, execution.

This is the seam `engine_cache.EngineToolkit` describes; tests replace it with a fake that keeps the
same interface. Supports the name-based tensor API (TensorRT 8.5+, JetPack 5/6) and the binding API
(TensorRT 8.2, JetPack 4 on the Nano/TX2).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping

import numpy as np

from ..errors import BackendError, BackendUnavailableError
from ..model_card import InputSpec
from .calibration import CacheOnlyBatches, CalibrationBatches, make_calibrator
from .cuda_memory import CudaApi, open_cuda
from .engine_cache import BuildSettings

_LOG = logging.getLogger(__name__)


def import_tensorrt() -> object:
    """`import tensorrt`, or a BackendUnavailableError that says how to get it."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise BackendUnavailableError(
            f'TensorRT is not installed: {exc}. On a Jetson it comes with JetPack (apt install '
            f'python3-libnvinfer); on x86 with an NVIDIA GPU pip install tensorrt. Use the onnxruntime or '
            f'opencv_dnn backend meanwhile.') from exc
    return trt


class _TrtLogger:
    """Routes TensorRT's log into Python logging (created after import, since it subclasses trt.ILogger)."""

    @staticmethod
    def create(trt: object) -> object:
        class Logger(trt.ILogger):  # type: ignore[misc, name-defined]
            def __init__(self) -> None:
                trt.ILogger.__init__(self)

            def log(self, severity: object, msg: str) -> None:
                level = {trt.ILogger.INTERNAL_ERROR: logging.ERROR, trt.ILogger.ERROR: logging.ERROR,
                         trt.ILogger.WARNING: logging.WARNING}.get(severity, logging.DEBUG)
                _LOG.log(level, 'TensorRT: %s', msg)
        return Logger()


class TensorRTToolkit:
    """The real TensorRT: version, GPU identity, engine build, engine load. Imports on construction."""

    def __init__(self, *, input_spec: InputSpec | None = None) -> None:
        self.trt = import_tensorrt()
        self.cuda: CudaApi = open_cuda()
        self.logger = _TrtLogger.create(self.trt)
        self.input_spec = input_spec

    @property
    def tensorrt_version(self) -> str:
        return str(self.trt.__version__)

    def gpu_identity(self) -> str:
        return self.cuda.device_identity()

    def build(self, onnx_path: Path, settings: BuildSettings) -> bytes:
        """Serialized engine bytes. Runs in the calling thread (often the background build thread) with
        this toolkit's CUDA context made current there, so the builder and the INT8 calibrator's device
        buffers live in the context the engine will run in."""
        with self.cuda.current():
            return self._build(onnx_path, settings)

    def _build(self, onnx_path: Path, settings: BuildSettings) -> bytes:
        trt = self.trt
        builder = trt.Builder(self.logger)
        flags = 0
        explicit = getattr(trt.NetworkDefinitionCreationFlag, 'EXPLICIT_BATCH', None)
        if explicit is not None:  # removed in TensorRT 10, where every network is explicit-batch
            flags |= 1 << int(explicit)
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse(onnx_path.read_bytes()):
            errors = '; '.join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise BackendError(f'TensorRT cannot parse {onnx_path}: {errors}')
        config = builder.create_builder_config()
        workspace = settings.workspace_mb * (1 << 20)
        if hasattr(config, 'set_memory_pool_limit'):
            config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace)
        else:
            config.max_workspace_size = workspace
        self._add_profile_for_dynamic_inputs(builder, network, config, settings.max_batch)
        calibrator = None
        if settings.precision in ('fp16', 'int8'):
            if not builder.platform_has_fast_fp16:
                _LOG.warning('this GPU has no fast FP16; building FP16 anyway as asked')
            config.set_flag(trt.BuilderFlag.FP16)
        if settings.precision == 'int8':
            calibrator = self._calibrator(settings)
            config.set_flag(trt.BuilderFlag.INT8)
            config.int8_calibrator = calibrator
        if settings.sparse_weights:
            config.set_flag(trt.BuilderFlag.SPARSE_WEIGHTS)
        if settings.dla_core >= 0:
            if builder.num_DLA_cores <= settings.dla_core:
                raise BackendError(f'DLA core {settings.dla_core} requested; this device has {builder.num_DLA_cores}')
            config.default_device_type = trt.DeviceType.DLA
            config.DLA_core = settings.dla_core
            config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
        timing_cache = self._load_timing_cache(config, settings.timing_cache)
        try:
            serialized = builder.build_serialized_network(network, config)
        finally:
            if calibrator is not None:
                calibrator.release()
        if serialized is None:
            raise BackendError(f'TensorRT failed to build an engine from {onnx_path} (see the TensorRT log above)')
        if settings.timing_cache is not None and timing_cache is not None:
            settings.timing_cache.parent.mkdir(parents=True, exist_ok=True)
            settings.timing_cache.write_bytes(bytes(config.get_timing_cache().serialize()))
        return bytes(serialized)

    def _add_profile_for_dynamic_inputs(self, builder: object, network: object, config: object,
                                        max_batch: int) -> None:
        """A dynamic batch axis gets the profile 1 .. max_batch (optimized for max_batch); a dynamic
        height or width the card's input size."""
        profile = None
        for i in range(network.num_inputs):
            tensor = network.get_input(i)
            shape = tuple(tensor.shape)
            if all(d > 0 for d in shape):
                continue
            spec = self.input_spec
            fixed = list(shape)
            dynamic_batch = fixed[0] <= 0
            fixed[0] = 1 if dynamic_batch else fixed[0]
            if spec is not None and len(fixed) == 4:
                h_axis, w_axis = (2, 3) if spec.layout == 'NCHW' else (1, 2)
                fixed[h_axis] = spec.height if fixed[h_axis] <= 0 else fixed[h_axis]
                fixed[w_axis] = spec.width if fixed[w_axis] <= 0 else fixed[w_axis]
            if any(d <= 0 for d in fixed):
                raise BackendError(f'input {tensor.name} has dynamic shape {shape} the card does not fix')
            profile = profile or builder.create_optimization_profile()
            largest = [max_batch if dynamic_batch else fixed[0]] + fixed[1:]
            profile.set_shape(tensor.name, fixed, largest, largest)
        if profile is not None:
            config.add_optimization_profile(profile)

    def _calibrator(self, settings: BuildSettings) -> object:
        if self.input_spec is None:
            raise BackendError('INT8 calibration needs the model card input spec')
        cache = settings.calibration_cache
        if settings.calibration_images is None and not (cache and cache.is_file()):
            raise BackendError('INT8 needs calibration images (tensorrt.calibration.images in the card, or '
                               '--calibration-images) or an existing calibration cache')
        batches = (CalibrationBatches(settings.calibration_images, self.input_spec,
                                      batch_size=settings.calibration_batch_size,
                                      max_images=settings.calibration_max_images)
                   if settings.calibration_images is not None else CacheOnlyBatches(settings.calibration_batch_size))
        return make_calibrator(self.trt, self.cuda, batches, algorithm=settings.calibration_algorithm,
                               cache_path=cache)

    def _load_timing_cache(self, config: object, path: Path | None) -> object | None:
        if path is None or not hasattr(config, 'create_timing_cache'):
            return None
        data = b''
        if path.is_file():
            data = path.read_bytes()
        cache = config.create_timing_cache(data)
        if not config.set_timing_cache(cache, False):
            _LOG.warning('timing cache %s does not match this TensorRT/GPU; starting a fresh one', path)
            cache = config.create_timing_cache(b'')
            config.set_timing_cache(cache, False)
        return cache

    def load(self, engine_bytes: bytes) -> 'EngineRunner':
        runtime = self.trt.Runtime(self.logger)
        engine = runtime.deserialize_cuda_engine(engine_bytes)
        if engine is None:
            raise BackendError('TensorRT could not deserialize the engine (corrupt, or built by another '
                               'TensorRT version or for another GPU)')
        return EngineRunner(self.trt, self.cuda, runtime, engine)

    def close(self) -> None:
        self.cuda.close()


class EngineRunner:
    """One deserialized engine with its execution context, device buffers and stream.

    Buffers are sized once for the largest shapes the engine takes: an input with dynamic (-1)
    dimensions gets its optimization profile's maximum, and outputs the shapes TensorRT derives
    from those. Each call sets the feed's actual input shapes and returns views of that call's
    output size on the reused host buffers (valid until the next call).
    """

    def __init__(self, trt: object, cuda: CudaApi, runtime: object, engine: object) -> None:
        self.trt, self.cuda, self.runtime, self.engine = trt, cuda, runtime, engine
        self.context = engine.create_execution_context()
        self.stream = cuda.stream()
        self.named_api = hasattr(engine, 'num_io_tensors')
        self.inputs: dict[str, tuple[np.ndarray, int]] = {}
        self.outputs: dict[str, tuple[np.ndarray, int]] = {}
        self._index: dict[str, int] = {}
        self._dynamic: set[str] = set()
        io = self._io()
        for name, index, is_input, dtype in io:
            self._index[name] = index
            if is_input:
                shape = self._engine_shape(name)
                if any(d < 0 for d in shape):
                    self._dynamic.add(name)
                    shape = self._max_shape(name)
                    self._set_shape(name, shape)
                self.inputs[name] = self._allocate(shape, dtype)
        for name, _, is_input, dtype in io:  # after every input shape is set: outputs resolve to their largest
            if not is_input:
                shape = self._context_shape(name)
                if any(d < 0 for d in shape):
                    raise BackendError(f'TensorRT cannot size output {name!r} ({shape}) from the inputs\' '
                                       'profile shapes')
                self.outputs[name] = self._allocate(shape, dtype)
        buffers = {**self.inputs, **self.outputs}
        self._bindings = [buffers[name][1] for name in sorted(buffers, key=self._index.__getitem__)]
        if self.named_api:
            for name, (_, ptr) in buffers.items():
                self.context.set_tensor_address(name, ptr)

    @property
    def max_batch(self) -> int:
        """The largest batch every input takes (its buffer's first axis: the profile's maximum)."""
        return min(host.shape[0] for host, _ in self.inputs.values()) if self.inputs else 1

    def _allocate(self, shape: tuple[int, ...], dtype: np.dtype) -> tuple[np.ndarray, int]:
        host = np.empty(shape, dtype)
        return host, self.cuda.malloc(host.nbytes)

    def _io(self) -> list[tuple[str, int, bool, np.dtype]]:
        trt, engine = self.trt, self.engine
        if self.named_api:
            names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
            return [(name, i, engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT,
                     np.dtype(trt.nptype(engine.get_tensor_dtype(name)))) for i, name in enumerate(names)]
        return [(engine.get_binding_name(i), i, engine.binding_is_input(i),
                 np.dtype(trt.nptype(engine.get_binding_dtype(i)))) for i in range(engine.num_bindings)]

    # The named-tensor API (TensorRT 8.5+) and the binding API (8.2) for the same four questions.
    def _engine_shape(self, name: str) -> tuple[int, ...]:
        if self.named_api:
            return tuple(self.engine.get_tensor_shape(name))
        return tuple(self.engine.get_binding_shape(self._index[name]))

    def _max_shape(self, name: str) -> tuple[int, ...]:
        if self.named_api:
            return tuple(self.engine.get_tensor_profile_shape(name, 0)[2])
        return tuple(self.engine.get_profile_shape(0, self._index[name])[2])

    def _context_shape(self, name: str) -> tuple[int, ...]:
        if self.named_api:
            return tuple(self.context.get_tensor_shape(name))
        return tuple(self.context.get_binding_shape(self._index[name]))

    def _set_shape(self, name: str, shape: tuple[int, ...]) -> None:
        ok = (self.context.set_input_shape(name, shape) if self.named_api
              else self.context.set_binding_shape(self._index[name], shape))
        if not ok:
            low, _, high = (self.engine.get_tensor_profile_shape(name, 0) if self.named_api
                            else self.engine.get_profile_shape(0, self._index[name]))
            raise BackendError(f'input {name!r} shape {shape} is outside the engine\'s optimization profile '
                               f'({tuple(low)} to {tuple(high)})')

    def infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        for name, tensor in feed.items():
            if name not in self.inputs:
                raise BackendError(f'engine has no input {name!r} (inputs: {list(self.inputs)})')
            host, ptr = self.inputs[name]
            if name in self._dynamic:
                if tensor.shape != self._context_shape(name):
                    self._set_shape(name, tuple(tensor.shape))
                host = host.reshape(-1)[:tensor.size].reshape(tensor.shape)
            elif tensor.shape != host.shape:
                raise BackendError(f'input {name!r} shape {tensor.shape} != engine shape {host.shape}')
            np.copyto(host, tensor, casting='same_kind')
            self.cuda.htod(ptr, host, self.stream)
        handle = self.cuda.stream_handle(self.stream)
        ok = (self.context.execute_async_v3(handle) if self.named_api
              else self.context.execute_async_v2(bindings=self._bindings, stream_handle=handle))
        if not ok:
            raise BackendError('TensorRT execution failed')
        results = {}
        for name, (host, ptr) in self.outputs.items():
            shape = self._context_shape(name) if self._dynamic else host.shape
            view = host.reshape(-1)[:int(np.prod(shape))].reshape(shape)
            self.cuda.dtoh(view, ptr, self.stream)
            results[name] = view
        self.cuda.synchronize(self.stream)
        return results

    def close(self) -> None:
        for _, ptr in [*self.inputs.values(), *self.outputs.values()]:
            self.cuda.free(ptr)
        self.inputs.clear()
        self.outputs.clear()
        self.context = None
        self.engine = None
