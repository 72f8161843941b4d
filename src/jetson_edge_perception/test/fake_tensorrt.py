"""A faithful stand-in for the TensorRT toolkit seam (`engine_cache.EngineToolkit` + `load`).

It has TensorRT's observable behaviour at the seam: `build` returns serialized engine bytes (here a
header naming the ONNX model and settings), `load` refuses bytes it did not produce or produced by
another "TensorRT version" with the same BackendError the real deserializer path raises, and the
loaded engine runs the real ONNX model (through ONNX Runtime) so outputs are real.
"""

from __future__ import annotations

import contextlib
import json
import threading
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy

from jetson_edge_perception.errors import BackendError
from tiny_onnx import protobuf_field

MAGIC = b'FAKETRT1'


@dataclass
class FakeState:
    version: str = '10.3.0'
    gpu: str = 'Orin sm_87'
    builds: list = field(default_factory=list)
    release_build: threading.Event | None = None
    fail_build: str | None = None


class FakeToolkit:
    def __init__(self, state: FakeState, *, input_spec=None) -> None:
        self.state = state
        self.input_spec = input_spec

    @property
    def tensorrt_version(self) -> str:
        return self.state.version

    def gpu_identity(self) -> str:
        return self.state.gpu

    def build(self, onnx_path: Path, settings) -> bytes:
        if self.state.release_build is not None:
            assert self.state.release_build.wait(30)
        if self.state.fail_build:
            raise BackendError(self.state.fail_build)
        self.state.builds.append((onnx_path.name, settings.precision))
        header = {'onnx': str(onnx_path), 'precision': settings.precision, 'version': self.state.version}
        return MAGIC + json.dumps(header).encode()

    def load(self, engine_bytes: bytes) -> 'FakeEngine':
        if not engine_bytes.startswith(MAGIC):
            raise BackendError('TensorRT could not deserialize the engine (corrupt, or built by another '
                               'TensorRT version or for another GPU)')
        header = json.loads(engine_bytes[len(MAGIC):])
        if header['version'] != self.state.version:
            raise BackendError('TensorRT could not deserialize the engine (built by another TensorRT version)')
        return FakeEngine(Path(header['onnx']))


class FakeEngine:
    def __init__(self, onnx_path: Path) -> None:
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(onnx_path), options, providers=['CPUExecutionProvider'])
        self.closed = False

    def infer(self, feed):
        names = [o.name for o in self.session.get_outputs()]
        return dict(zip(names, self.session.run(names, dict(feed))))

    def close(self) -> None:
        self.closed = True


# --- Below the seam: TensorRT's Python API and a CUDA binding, for the toolkit's own code ------------
#
# `fake_tensorrt_module()` stands in for `import tensorrt` (the subset tensorrt_toolkit calls) and
# `FakeCuda` for `cuda_memory.open_cuda()` on the pycuda path. They keep the real rules these tests
# are about: CUDA calls fail in a thread where no context is current (pycuda's context is current only
# in the thread that made it, or where pushed); an engine keeps -1 for dynamic dimensions, resolves an
# output's shape on the execution context only once every input shape is set, and refuses an input
# shape outside its optimization profile (set_input_shape returns False); execute_async_v3 returns
# False while an input shape or a tensor address is missing; the builder calls the INT8 calibrator in
# the building thread. Engines run the real ONNX model through ONNX Runtime on the "device" bytes.

class FakeCudaError(RuntimeError):
    """What pycuda raises (pycuda._driver.LogicError) for a driver call without a current context."""


class FakeCuda:
    """A CudaApi with pycuda's context rules; device memory is host bytes owned by the context."""

    library = 'pycuda'

    def __init__(self) -> None:
        self._local = threading.local()
        self._memory: dict[int, bytearray] = {}
        self._next = 0x7f0000000000
        self._local.stack = ['ctx0']  # make_context(): current in the creating thread only

    def _require_context(self, call: str) -> None:
        if not getattr(self._local, 'stack', None):
            raise FakeCudaError(f'{call} failed: invalid device context')

    def device_identity(self) -> str:
        return 'Orin sm_87'

    @contextlib.contextmanager
    def current(self):
        stack = self._local.__dict__.setdefault('stack', [])
        stack.append('ctx0')
        try:
            yield
        finally:
            stack.pop()

    def malloc(self, nbytes: int) -> int:
        self._require_context('cuMemAlloc')
        ptr, self._next = self._next, self._next + max(1, nbytes) + 256
        self._memory[ptr] = bytearray(max(1, nbytes))
        return ptr

    def free(self, ptr: int) -> None:
        self._require_context('cuMemFree')
        del self._memory[ptr]

    def stream(self) -> object:
        self._require_context('cuStreamCreate')
        return object()

    def stream_handle(self, stream: object) -> int:
        return id(stream)

    def htod(self, ptr: int, host, stream: object) -> None:
        self._require_context('cuMemcpyHtoDAsync')
        self.write(ptr, host.tobytes())

    def dtoh(self, host, ptr: int, stream: object) -> None:
        self._require_context('cuMemcpyDtoHAsync')
        host[...] = numpy.frombuffer(self.read(ptr, host.nbytes), host.dtype).reshape(host.shape)

    def synchronize(self, stream: object) -> None:
        self._require_context('cuStreamSynchronize')

    def close(self) -> None:
        self._local.stack = []

    # device access the fake TensorRT uses (the GPU reading and writing its own memory)
    def read(self, ptr: int, nbytes: int) -> bytes:
        self._require_context('kernel launch')
        block = self._memory[ptr]
        assert nbytes <= len(block), f'read of {nbytes} bytes past a {len(block)}-byte allocation'
        return bytes(block[:nbytes])

    def write(self, ptr: int, data: bytes) -> None:
        self._require_context('kernel launch')
        block = self._memory[ptr]
        assert len(data) <= len(block), f'write of {len(data)} bytes past a {len(block)}-byte allocation'
        block[:len(data)] = data


_ORT_TYPES = {'tensor(float)': 'float32', 'tensor(uint8)': 'uint8', 'tensor(int32)': 'int32'}


def _session(onnx_path: str):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(onnx_path, options, providers=['CPUExecutionProvider'])


def _dims(shape) -> tuple:
    """ONNX Runtime's shape (ints, symbol names, None) as TensorRT reports it: -1 for dynamic."""
    return tuple(d if isinstance(d, int) and d > 0 else -1 for d in shape)


def fake_tensorrt_module(cuda: FakeCuda, *, version: str = '10.3.0', calibration_log: list | None = None):
    """A stand-in for the `tensorrt` module, its engines' memory in `cuda`."""
    trt = types.ModuleType('tensorrt')
    trt.__version__ = version

    class ILogger:
        INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = range(5)

        def __init__(self) -> None:
            pass

    class IInt8EntropyCalibrator2:
        def __init__(self) -> None:
            pass

    class IInt8MinMaxCalibrator(IInt8EntropyCalibrator2):
        pass

    class Profile:
        def __init__(self) -> None:
            self.shapes: dict[str, list] = {}

        def set_shape(self, name, low, opt, high) -> None:
            self.shapes[name] = [list(low), list(opt), list(high)]

    class Config:
        def __init__(self) -> None:
            self.flags: set[str] = set()
            self.profiles: list[Profile] = []
            self.int8_calibrator = None

        def set_memory_pool_limit(self, pool, size) -> None:
            pass

        def set_flag(self, flag) -> None:
            self.flags.add(flag)

        def add_optimization_profile(self, profile) -> int:
            self.profiles.append(profile)
            return len(self.profiles) - 1

    class Tensor:
        def __init__(self, name, shape) -> None:
            self.name, self.shape = name, shape

    class Network:
        def __init__(self) -> None:
            self.onnx_path = None
            self.inputs: list[Tensor] = []

        @property
        def num_inputs(self) -> int:
            return len(self.inputs)

        def get_input(self, i):
            return self.inputs[i]

    class OnnxParser:
        def __init__(self, network, logger) -> None:
            self.network, self.num_errors = network, 0

        def parse(self, model: bytes) -> bool:
            import tempfile
            with tempfile.NamedTemporaryFile(suffix='.onnx', delete=False) as handle:
                handle.write(model)
            self.network.onnx_path = handle.name
            self.network.inputs = [Tensor(i.name, _dims(i.shape)) for i in _session(handle.name).get_inputs()]
            return True

    class Builder:
        platform_has_fast_fp16 = True
        num_DLA_cores = 0

        def __init__(self, logger) -> None:
            pass

        def create_network(self, flags=0):
            return Network()

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            profile = config.profiles[0].shapes if config.profiles else {}
            if any(-1 in t.shape and t.name not in profile for t in network.inputs):
                return None  # "Network has dynamic or shape inputs, but no optimization profile has been defined"
            calibrator = config.int8_calibrator
            if 'INT8' in config.flags and calibrator is not None and calibrator.read_calibration_cache() is None:
                names = [t.name for t in network.inputs]
                while (pointers := calibrator.get_batch(names)) is not None:
                    for ptr in pointers:  # the calibration pass reads the batch on the GPU, in this thread
                        cuda.read(ptr, 1)
                    if calibration_log is not None:
                        calibration_log.append(threading.current_thread().name)
                calibrator.write_calibration_cache(b'fake calibration table')
            header = {'onnx': network.onnx_path, 'profile': profile, 'version': version, 'flags': sorted(config.flags)}
            return MAGIC + json.dumps(header).encode()

    class Engine:
        def __init__(self, header: dict) -> None:
            self.session = _session(header['onnx'])
            self.profile = header['profile']
            self.io = {**{i.name: (True, i) for i in self.session.get_inputs()},
                       **{o.name: (False, o) for o in self.session.get_outputs()}}

        @property
        def num_io_tensors(self) -> int:
            return len(self.io)

        def get_tensor_name(self, i) -> str:
            return list(self.io)[i]

        def get_tensor_mode(self, name):
            return trt.TensorIOMode.INPUT if self.io[name][0] else trt.TensorIOMode.OUTPUT

        def get_tensor_shape(self, name) -> tuple:
            return _dims(self.io[name][1].shape)

        def get_tensor_dtype(self, name) -> str:
            return _ORT_TYPES[self.io[name][1].type]

        def get_tensor_profile_shape(self, name, profile_index) -> list:
            if not self.io[name][0] or name not in self.profile:
                raise RuntimeError(f'{name} is not an input with a profile')  # TensorRT raises too
            return [tuple(s) for s in self.profile[name]]

        def create_execution_context(self):
            return Context(self)

    class Context:
        def __init__(self, engine: Engine) -> None:
            self.engine = engine
            self.shapes = {n: engine.get_tensor_shape(n) for n, (is_in, _) in engine.io.items() if is_in}
            self.addresses: dict[str, int] = {}

        def set_input_shape(self, name, shape) -> bool:
            low, _, high = self.engine.profile.get(name, [self.shapes[name]] * 3)
            shape = tuple(shape)
            if len(shape) != len(low) or any(not lo <= d <= hi for d, lo, hi in zip(shape, low, high)):
                return False  # TensorRT logs "... is out of bounds" and refuses
            self.shapes[name] = shape
            return True

        def _symbols(self) -> dict:
            values = {}
            for name, shape in self.shapes.items():
                for symbol, dim in zip(self.engine.io[name][1].shape, shape):
                    if not isinstance(symbol, int) and dim >= 0:
                        values[symbol] = dim
            return values

        def get_tensor_shape(self, name) -> tuple:
            if name in self.shapes:
                return self.shapes[name]
            if any(-1 in s for s in self.shapes.values()):
                return self.engine.get_tensor_shape(name)
            values = self._symbols()
            return tuple(d if isinstance(d, int) else values.get(d, -1) for d in self.engine.io[name][1].shape)

        def set_tensor_address(self, name, ptr) -> bool:
            self.addresses[name] = ptr
            return True

        def execute_async_v3(self, stream_handle) -> bool:
            if any(-1 in s for s in self.shapes.values()) or set(self.addresses) != set(self.engine.io):
                return False
            feed = {}
            for name, shape in self.shapes.items():
                dtype = numpy.dtype(self.engine.get_tensor_dtype(name))
                nbytes = int(numpy.prod(shape)) * dtype.itemsize
                feed[name] = numpy.frombuffer(cuda.read(self.addresses[name], nbytes), dtype).reshape(shape)
            names = [o.name for o in self.engine.session.get_outputs()]
            for name, value in zip(names, self.engine.session.run(names, feed)):
                assert value.shape == self.get_tensor_shape(name)
                cuda.write(self.addresses[name], numpy.ascontiguousarray(value).tobytes())
            return True

    class Runtime:
        def __init__(self, logger) -> None:
            pass

        def deserialize_cuda_engine(self, data: bytes):
            if not data.startswith(MAGIC):
                return None
            header = json.loads(data[len(MAGIC):])
            return Engine(header) if header.get('version') == version else None

    trt.ILogger = ILogger
    trt.IInt8EntropyCalibrator2 = IInt8EntropyCalibrator2
    trt.IInt8MinMaxCalibrator = IInt8MinMaxCalibrator
    trt.Builder, trt.OnnxParser, trt.Runtime = Builder, OnnxParser, Runtime
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace()  # TensorRT 10: no EXPLICIT_BATCH
    trt.MemoryPoolType = types.SimpleNamespace(WORKSPACE='WORKSPACE')
    trt.BuilderFlag = types.SimpleNamespace(FP16='FP16', INT8='INT8', GPU_FALLBACK='GPU_FALLBACK',
                                            SPARSE_WEIGHTS='SPARSE_WEIGHTS')
    trt.DeviceType = types.SimpleNamespace(GPU='GPU', DLA='DLA')
    trt.TensorIOMode = types.SimpleNamespace(INPUT='INPUT', OUTPUT='OUTPUT')
    trt.nptype = numpy.dtype
    return trt


def dynamic_batch_onnx(path: Path) -> Path:
    """A real two-output ONNX model with a dynamic batch: x[N,3,4,4] -> Relu -> y[N,3,4,4], GlobalAveragePool -> z[N,3,1,1].

    Written as protobuf wire format (field numbers from onnx.proto), since `onnx` is no dependency.
    """
    field = protobuf_field  # the protobuf wire encoding of tiny_onnx, shared

    def value_info(name: str, dims: tuple) -> bytes:
        shape = b''.join(field(1, field(2, d.encode()) if isinstance(d, str) else field(1, d)) for d in dims)
        tensor_type = field(1, 1) + field(2, shape)  # elem_type FLOAT, shape
        return field(1, name.encode()) + field(2, field(1, tensor_type))

    def node(op: str, inputs: list, outputs: list) -> bytes:
        return b''.join(field(1, i.encode()) for i in inputs) + b''.join(field(2, o.encode()) for o in outputs) \
            + field(4, op.encode())

    graph = (field(1, node('Relu', ['x'], ['y'])) + field(1, node('GlobalAveragePool', ['x'], ['z']))
             + field(2, b'dynamic_batch') + field(11, value_info('x', ('N', 3, 4, 4)))
             + field(12, value_info('y', ('N', 3, 4, 4))) + field(12, value_info('z', ('N', 3, 1, 1))))
    model = field(1, 8) + field(7, graph) + field(8, field(2, 13))  # ir_version 8, graph, opset 13
    path.write_bytes(model)
    return path
