"""One model's full pass: preprocess -> backend -> decode, with per-stage timings.

`ModelPipeline` is what the perception node's worker calls. It owns no thread and no ROS object;
settings that may change at run time (score threshold, class filter, max detections) are read on
every call from a `DetectionSettings` value the caller swaps atomically.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .depth import DepthMap, decode_depth, depth_output
from .errors import BackendError
from .geometry import plan_resize
from .model_card import ModelCard
from .postprocess import Detections, decode_detections, decode_mask
from .preprocess import Preprocessor, as_rgb


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
    """Preprocess, infer, decode one model card on one runner. Call `process` from one thread."""

    def __init__(self, card: ModelCard, runner: InferenceRunner) -> None:
        self.card = card
        self.runner = runner
        self._pre = Preprocessor(card.input)
        self.settings = DetectionSettings(card.score_threshold, None, card.max_detections)

    def process(self, image: np.ndarray, encoding: str, *, settings: DetectionSettings | None = None,
                depth_resolution: str = 'camera') -> ModelResult:
        """Run the model on a (H, W, C) uint8 image in `encoding`; raises FrameError or BackendError.

        `depth_resolution` (depth cards): `camera` or `model`, see `depth.decode_depth`.
        """
        settings = settings or self.settings
        card = self.card
        t0 = time.perf_counter()
        if self.runner.runs_own_pipeline:
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
        tensor, transform = self._pre(image, encoding)
        t1 = time.perf_counter()
        outputs = self.runner.infer({self.runner.input_name: tensor})
        t2 = time.perf_counter()
        if card.task == 'detection':
            detections = decode_detections(outputs, card.decoder, card.input, transform,
                                           score_threshold=settings.score_threshold,
                                           max_detections=card.max_detections, num_classes=len(card.labels))
            detections = detections.filtered(score_threshold=settings.score_threshold, class_ids=settings.class_ids,
                                             max_detections=settings.max_detections)
            result_kwargs: dict[str, object] = {'detections': detections}
        elif card.task == 'segmentation':
            result_kwargs = {'mask': decode_mask(outputs, card.decoder, card.input, transform)}
        elif card.task == 'depth':
            result_kwargs = {'depth': decode_depth(depth_output(outputs, card.decoder), card.depth, card.input,
                                                   transform, resolution=depth_resolution)}
        else:
            raise BackendError(f'unknown task {card.task!r}')
        t3 = time.perf_counter()
        return ModelResult(StageTimes(t1 - t0, t2 - t1, t3 - t2), self.runner.description, **result_kwargs)
