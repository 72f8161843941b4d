"""A faithful stand-in for the TensorRT toolkit seam (`engine_cache.EngineToolkit` + `load`).

It has TensorRT's observable behaviour at the seam: `build` returns serialized engine bytes (here a
header naming the ONNX model and settings), `load` refuses bytes it did not produce or produced by
another "TensorRT version" with the same BackendError the real deserializer path raises, and the
loaded engine runs the real ONNX model (through ONNX Runtime) so outputs are real.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from jetson_edge_perception.errors import BackendError

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
