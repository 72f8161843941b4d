"""One model's full pass: preprocess -> backend -> decode, with per-stage timings.

`ModelPipeline` is what the perception node's worker calls. It owns no thread and no ROS object;
settings that may change at run time (score threshold, class filter, max detections) are read on
every call from a `DetectionSettings` value the caller swaps atomically.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol, Sequence

import numpy as np

from .batch_outputs import split_outputs
from .depth import DepthMap, decode_depth, depth_output
from .errors import BackendError, FrameError
from .geometry import plan_resize
from .model_card import ModelCard
from .postprocess import Detections, decode_detections, decode_mask
from .preprocess import Preprocessor, Transform, as_rgb


class InferenceRunner(Protocol):
    """What the pipeline needs from a backend (a `Backend`, or a `SwitchingRunner` wrapping several)."""

    runs_own_pipeline: bool

    @property
    def input_name(self) -> str: ...

    @property
    def description(self) -> str: ...

    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class DetectionSettings:
    """Run-time filters applied to detections; replaced whole when a parameter changes."""

    score_threshold: float = 0.5
    class_ids: frozenset[int] | None = None
    max_detections: int = 100


@dataclass(frozen=True)
class StageTimes:
    """Seconds spent in each stage of one frame."""

    preprocess: float
    inference: float
    postprocess: float

    @property
    def total(self) -> float:
        return self.preprocess + self.inference + self.postprocess


@dataclass(frozen=True)
class ModelResult:
    """The outcome of one frame: detections, a class mask or a depth map, by the card's task."""

    times: StageTimes
    backend: str
    detections: Detections | None = None
    mask: np.ndarray | None = None
    depth: DepthMap | None = None
    extra: dict[str, object] = field(default_factory=dict)


def class_ids_for(card: ModelCard, names_or_ids: list[str] | tuple[str, ...]) -> frozenset[int] | None:
    """Resolve a class filter given as label names or numeric ids; empty means no filter."""
    if not names_or_ids:
        return None
    ids: set[int] = set()
    for item in names_or_ids:
        item = str(item).strip()
        if item.isdigit():
            ids.add(int(item))
        elif item in card.labels:
            ids.add(card.labels.index(item))
        else:
            raise ValueError(f'class {item!r} is not a label of {card.name} (labels: {", ".join(card.labels[:12])}...)')
    return frozenset(ids)


class ModelPipeline:
    """Preprocess, infer, decode one model card on one runner. Call `process`/`process_batch` from one thread.

    A `batch: dynamic` card runs up to `max_batch` images per inference call; a `batch: fixed` card
    (or a backend that runs its own pipeline) one call per image. `batching` says which.
    """

    def __init__(self, card: ModelCard, runner: InferenceRunner, *, max_batch: int = 1) -> None:
        self.card = card
        self.runner = runner
        self._pre = Preprocessor(card.input)
        self.settings = DetectionSettings(card.score_threshold, None, card.max_detections)
        self.max_batch = max(1, max_batch) if card.batch == 'dynamic' else 1
        self._batch_buffer: np.ndarray | None = None

    @property
    def batching(self) -> str:
        if self.runner.runs_own_pipeline:
            return f'one call per image ({self.runner.description} runs its own pipeline)'
        if self.card.batch == 'fixed':
            return 'fixed batch: one call per image'
        return f'dynamic batch: up to {self.max_batch} images per call'

    def process(self, image: np.ndarray, encoding: str, *, settings: DetectionSettings | None = None,
                depth_resolution: str = 'camera') -> ModelResult:
        """Run the model on a (H, W, C) uint8 image in `encoding`; raises FrameError or BackendError.

        `depth_resolution` (depth cards): `camera` or `model`, see `depth.decode_depth`.
        """
        result = self.process_batch([(image, encoding)], settings=settings, depth_resolution=depth_resolution)[0]
        if isinstance(result, FrameError):
            raise result
        return result

    def process_batch(self, frames: Sequence[tuple[np.ndarray, str]], *, settings: DetectionSettings | None = None,
                      depth_resolution: str = 'camera') -> list[ModelResult | FrameError]:
        """Run the model on several images (any sizes: each is resized by the card's rule).

        One entry per frame: its result, or the FrameError that rejected that frame alone. Stage
        times are those of the whole batch. Raises BackendError when inference fails.
        """
        settings = settings or self.settings
        if self.runner.runs_own_pipeline:
            results: list[ModelResult | FrameError] = []
            for image, encoding in frames:
                try:
                    results.append(self._own_pipeline(image, encoding, settings, depth_resolution))
                except FrameError as exc:
                    results.append(exc)
            return results
        t0 = time.perf_counter()
        outcomes: list[ModelResult | FrameError | None] = [None] * len(frames)
        accepted: list[tuple[int, Transform]] = []
        batch = self._buffer(len(frames))
        for i, (image, encoding) in enumerate(frames):
            try:
                tensor, transform = self._pre(image, encoding)
            except FrameError as exc:
                outcomes[i] = exc
                continue
            batch[len(accepted)] = tensor[0]
            accepted.append((i, transform))
        t1 = time.perf_counter()
        inference = decode = 0.0
        decoded: list[dict[str, object]] = []
        for start in range(0, len(accepted), self.max_batch):
            count = min(self.max_batch, len(accepted) - start)
            ti = time.perf_counter()
            outputs = self.runner.infer({self.runner.input_name: batch[start:start + count]})
            td = time.perf_counter()
            for item, (_, transform) in zip(split_outputs(outputs, self.card.decoder, count),
                                            accepted[start:start + count]):
                decoded.append(self._decode(item, transform, settings, depth_resolution))
            inference += td - ti
            decode += time.perf_counter() - td
        times = StageTimes(t1 - t0, inference, decode)
        for (i, _), kwargs in zip(accepted, decoded):
            outcomes[i] = ModelResult(times, self.runner.description, **kwargs)
        return outcomes  # type: ignore[return-value]

    def _buffer(self, count: int) -> np.ndarray:
        out = self._pre.output_shape
        if self._batch_buffer is None or self._batch_buffer.shape[0] < count:
            self._batch_buffer = np.empty((count,) + out[1:], self._pre.dtype)
        return self._batch_buffer

    def _decode(self, outputs: dict[str, np.ndarray], transform: Transform, settings: DetectionSettings,
                depth_resolution: str) -> dict[str, object]:
        card = self.card
        if card.task == 'detection':
            detections = decode_detections(outputs, card.decoder, card.input, transform,
                                           score_threshold=settings.score_threshold,
                                           max_detections=card.max_detections, num_classes=len(card.labels))
            return {'detections': detections.filtered(score_threshold=settings.score_threshold,
                                                      class_ids=settings.class_ids,
                                                      max_detections=settings.max_detections)}
        if card.task == 'segmentation':
            return {'mask': decode_mask(outputs, card.decoder, card.input, transform)}
        if card.task == 'depth':
            return {'depth': decode_depth(depth_output(outputs, card.decoder), card.depth, card.input, transform,
                                          resolution=depth_resolution)}
        raise BackendError(f'unknown task {card.task!r}')

    def _own_pipeline(self, image: np.ndarray, encoding: str, settings: DetectionSettings,
                      depth_resolution: str) -> ModelResult:
        card = self.card
        t0 = time.perf_counter()
        rgb = as_rgb(image, encoding)
        out = self.runner.run_image(rgb, settings=settings)  # type: ignore[attr-defined]
        t1 = time.perf_counter()
        if card.task == 'depth':
            # jetson-inference's depthNet returns its raw field: decoded here, like every backend's
            transform = plan_resize(rgb.shape[1], rgb.shape[0], card.input)
            depth = decode_depth(out, card.depth, card.input, transform, resolution=depth_resolution)
            return ModelResult(StageTimes(0.0, t1 - t0, time.perf_counter() - t1), self.runner.description,
                               depth=depth)
        detections = out.filtered(score_threshold=settings.score_threshold, class_ids=settings.class_ids,
                                  max_detections=settings.max_detections) if isinstance(out, Detections) else None
        times = StageTimes(0.0, t1 - t0, time.perf_counter() - t1)
        return ModelResult(times, self.runner.description, detections=detections,
                           mask=None if isinstance(out, Detections) else out)
