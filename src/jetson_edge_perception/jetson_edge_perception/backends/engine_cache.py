"""TensorRT engine cache: engines keyed by model hash, TensorRT version, GPU, precision, DLA core and sparsity.

Pure Python: no TensorRT import. The cache stores `<model>.<precision>.<digest>.engine` with a JSON
sidecar holding the full key and the engine's sha256. A lookup is a hit only when the sidecar parses,
its key equals the wanted key and the engine bytes hash to the recorded digest; anything else
(missing, truncated, edited, written by another TensorRT) is a miss that is logged and rebuilt, never
fatal. Writes are atomic (temporary file + rename), so a build killed halfway leaves no half engine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Protocol

from jetson_edge_common.files import atomic_write_bytes

from ..errors import BackendError

_LOG = logging.getLogger(__name__)


def file_sha256(path: Path, *, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class BuildSettings:
    """What the engine is built with. Only `precision`, `dla_core`, `sparse_weights` and `max_batch` (plus the
    platform) enter the key.

    `sparse_weights`: the model card says its weights are 2:4 sparse, so the builder may pick sparse
    tensor-core kernels. `max_batch`: the largest batch of the optimization profile of an input whose
    batch axis is dynamic.
    """

    precision: str = 'fp16'
    workspace_mb: int = 1024
    dla_core: int = -1
    max_batch: int = 1
    calibration_images: Path | None = None
    calibration_algorithm: str = 'entropy'
    calibration_batch_size: int = 8
    calibration_max_images: int = 256
    calibration_cache: Path | None = None
    timing_cache: Path | None = None
    sparse_weights: bool = False


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine is only valid for. Any difference means a rebuild."""

    model_name: str
    model_sha256: str
    tensorrt_version: str
    gpu: str
    precision: str
    dla_core: int
    sparse_weights: bool
    max_batch: int = 1

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    @property
    def file_name(self) -> str:
        dla = f'.dla{self.dla_core}' if self.dla_core >= 0 else ''
        sparse = '.sparse' if self.sparse_weights else ''
        return f'{self.model_name}.{self.precision}{dla}{sparse}.{self.digest[:16]}.engine'


class EngineToolkit(Protocol):
    """The seam between engine lifecycle and the TensorRT library (real: tensorrt_toolkit.TensorRTToolkit)."""

    @property
    def tensorrt_version(self) -> str: ...

    def gpu_identity(self) -> str: ...

    def build(self, onnx_path: Path, settings: BuildSettings) -> bytes: ...


class EngineCache:
    """Engines on disk under `directory`, looked up by `EngineKey`. Safe for concurrent readers."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def paths(self, key: EngineKey) -> tuple[Path, Path]:
        engine = self.directory / key.file_name
        return engine, engine.with_suffix('.engine.json')

    def lookup(self, key: EngineKey) -> tuple[Path | None, str]:
        """(engine path, '') on a valid hit, else (None, why it is a miss)."""
        engine, sidecar = self.paths(key)
        if not engine.exists():
            return None, f'no cached engine {engine.name}'
        try:
            meta = json.loads(sidecar.read_text(encoding='utf-8'))
        except (OSError, ValueError) as exc:
            return None, f'engine metadata {sidecar.name} unreadable ({exc})'
        if meta.get('key') != asdict(key):
            return None, f'engine {engine.name} was built for a different key'
        if meta.get('engine_sha256') != file_sha256(engine):
            return None, f'engine {engine.name} is corrupt (hash mismatch)'
        return engine, ''

    def store(self, key: EngineKey, engine_bytes: bytes) -> Path:
        """Write engine and sidecar atomically; returns the engine path."""
        self.directory.mkdir(parents=True, exist_ok=True)
        engine, sidecar = self.paths(key)
        meta = {'key': asdict(key), 'engine_sha256': hashlib.sha256(engine_bytes).hexdigest(),
                'size': len(engine_bytes)}
        atomic_write_bytes(engine, engine_bytes)
        atomic_write_bytes(sidecar, json.dumps(meta, indent=2, sort_keys=True).encode())
        return engine

    def discard(self, key: EngineKey) -> None:
        for path in self.paths(key):
            path.unlink(missing_ok=True)


class EngineManager:
    """Get an engine for (ONNX model, settings): from the cache when the key matches, else build and store.

    `build_count` counts real builds, so callers (and tests) can see that a warm cache never rebuilds.
    Builds for the same key are serialized by a lock; different processes rely on the atomic rename.
    """

    def __init__(self, cache: EngineCache, toolkit: EngineToolkit, *, log: Callable[[str], None] | None = None) -> None:
        self.cache = cache
        self.toolkit = toolkit
        self.build_count = 0
        self._log = log or _LOG.info
        self._lock = threading.Lock()

    def key_for(self, onnx_path: Path, settings: BuildSettings, *, model_name: str | None = None) -> EngineKey:
        return EngineKey(model_name=model_name or onnx_path.stem, model_sha256=file_sha256(onnx_path),
                         tensorrt_version=self.toolkit.tensorrt_version, gpu=self.toolkit.gpu_identity(),
                         precision=settings.precision, dla_core=settings.dla_core,
                         sparse_weights=settings.sparse_weights, max_batch=settings.max_batch)

    def cached(self, key: EngineKey) -> Path | None:
        path, why = self.cache.lookup(key)
        if path is None:
            self._log(f'TensorRT engine cache miss: {why}')
        return path

    def build(self, onnx_path: Path, settings: BuildSettings, key: EngineKey) -> Path:
        """Build unconditionally (replacing any cached engine for `key`) and store it."""
        with self._lock:
            self._log(f'building TensorRT engine {key.file_name} from {onnx_path.name} '
                      f'({settings.precision}, TensorRT {key.tensorrt_version}, {key.gpu}); this takes minutes on a Jetson')
            engine_bytes = self.toolkit.build(onnx_path, settings)
            if not engine_bytes:
                raise BackendError(f'TensorRT produced no engine for {onnx_path}')
            self.build_count += 1
            path = self.cache.store(key, engine_bytes)
            self._log(f'TensorRT engine stored at {path}')
            return path

    def get_or_build(self, onnx_path: Path, settings: BuildSettings, *, model_name: str | None = None
                     ) -> tuple[Path, EngineKey]:
        key = self.key_for(onnx_path, settings, model_name=model_name)
        with self._lock:
            path = self.cached(key)
        if path is None:
            path = self.build(onnx_path, settings, key)
        return path, key
