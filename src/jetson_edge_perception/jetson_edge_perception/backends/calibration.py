"""INT8 calibration: batches of preprocessed images from a folder, and the TensorRT calibrator around them.

`CalibrationBatches` is pure (OpenCV + numpy) and tested here; `make_calibrator` builds a subclass
of TensorRT's IInt8EntropyCalibrator2 or IInt8MinMaxCalibrator once `tensorrt` has been imported.
The calibration cache is read before calibrating and written after, so a second build (or another
robot given the cache) skips the calibration pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..errors import BackendError
from ..model_card import InputSpec
from ..preprocess import Preprocessor

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif', '.tiff', '.webp')


def image_files(folder: Path, *, limit: int | None = None) -> list[Path]:
    """Image files in `folder` (sorted by name), at most `limit`."""
    if not folder.is_dir():
        raise BackendError(f'calibration image folder {folder} does not exist')
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise BackendError(f'calibration image folder {folder} has no images ({", ".join(IMAGE_SUFFIXES)})')
    return files[:limit] if limit else files


class CalibrationBatches:
    """Iterates (batch_size, ...) tensors of the card's input, skipping unreadable files; the last batch is padded."""

    def __init__(self, folder: Path, spec: InputSpec, *, batch_size: int, max_images: int | None = None) -> None:
        self.files = image_files(folder, limit=max_images)
        self.spec = spec
        self.batch_size = batch_size
        self.skipped: list[Path] = []

    def __iter__(self) -> Iterator[np.ndarray]:
        pre = Preprocessor(self.spec)
        batch: list[np.ndarray] = []
        for path in self.files:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                self.skipped.append(path)
                continue
            tensor, _ = pre(image, 'bgr8')
            batch.append(tensor[0].copy())
            if len(batch) == self.batch_size:
                yield np.ascontiguousarray(np.stack(batch))
                batch = []
        if batch:
            while len(batch) < self.batch_size:
                batch.append(batch[-1])
            yield np.ascontiguousarray(np.stack(batch))


class CacheOnlyBatches:
    """No images: TensorRT takes every scale from the existing calibration cache."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(())


def make_calibrator(trt: object, cuda: object, batches: CalibrationBatches | CacheOnlyBatches, *, algorithm: str,
                    cache_path: Path | None) -> object:
    """A TensorRT INT8 calibrator (entropy or min-max) feeding `batches` through a device buffer from `cuda`."""
    base = {'entropy': trt.IInt8EntropyCalibrator2, 'minmax': trt.IInt8MinMaxCalibrator}.get(algorithm)
    if base is None:
        raise BackendError(f'calibration algorithm {algorithm!r} is not entropy or minmax')

    class _Calibrator(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            base.__init__(self)
            self._iterator = iter(batches)
            self._stream = cuda.stream()
            self._ptr: int | None = None

        def get_batch_size(self) -> int:
            return batches.batch_size

        def get_batch(self, names: list[str]) -> list[int] | None:
            try:
                batch = next(self._iterator)
            except StopIteration:
                return None
            if self._ptr is None:
                self._ptr = cuda.malloc(batch.nbytes)
            cuda.htod(self._ptr, batch, self._stream)
            cuda.synchronize(self._stream)
            return [self._ptr] * len(names)

        def read_calibration_cache(self) -> bytes | None:
            if cache_path is not None and cache_path.is_file():
                return cache_path.read_bytes()
            return None

        def write_calibration_cache(self, cache: object) -> None:
            if cache_path is not None:
                cache_path.parent.mkdir(parents=True, exist_ok=True)
                cache_path.write_bytes(bytes(cache))

        def release(self) -> None:
            if self._ptr is not None:
                cuda.free(self._ptr)
                self._ptr = None

    return _Calibrator()
