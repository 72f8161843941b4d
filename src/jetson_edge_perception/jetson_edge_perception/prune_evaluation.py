"""A pruned model against its original on a folder of photos, through the model card's own pipeline.

Both models run through the same card (preprocessing, decoder, thresholds) on ONNX Runtime; the
original's results are the reference (see `agreement`). One number sums a model up per task:
detection F1 of the matching, mean mask IoU for segmentation, mean depth-map correlation for depth.
A model under the threshold is flagged. The per-layer sensitivity prunes one layer at a time to show which layers cost the most.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from .agreement import MATCH_IOU, DetectionAgreement, depth_correlation, mask_iou, match_detections
from .backends import BackendOptions, create_backend
from .errors import ModelFileError
from .model_card import ModelCard
from .onnx_graph import load_graph
from .pipeline import ModelPipeline, ModelResult
from .pruning import LayerPlan, apply_pruning

__all__ = ['EVALUATED_TASKS', 'PhotoRow', 'Evaluation', 'load_photos', 'run_model', 'compare', 'layer_sensitivity',
           'format_evaluation', 'format_sensitivity']

EVALUATED_TASKS = ('detection', 'segmentation', 'depth')
_MEASURES = {'segmentation': 'mask IoU', 'depth': 'depth correlation'}
_PHOTO_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')


@dataclass(frozen=True)
class PhotoRow:
    """One photo's agreement: the detection counts (detection cards), else the task's one measure
    (mask IoU, depth correlation)."""

    photo: str
    detections: DetectionAgreement | None = None
    measure: float | None = None

    @property
    def agreement(self) -> float:
        if self.detections is not None:
            d = self.detections
            return 2 * d.matched / (d.original + d.changed) if d.original + d.changed else 1.0
        return float(self.measure)


@dataclass(frozen=True)
class Evaluation:
    task: str
    rows: tuple[PhotoRow, ...]
    threshold: float

    @property
    def total(self) -> PhotoRow:
        """All photos together: detections pooled, the other measures averaged."""
        if self.task == 'detection':
            pooled = sum((row.detections for row in self.rows), DetectionAgreement(0, 0, 0))
            return PhotoRow('all', detections=pooled)
        return PhotoRow('all', measure=float(np.mean([row.measure for row in self.rows])))

    @property
    def agreement(self) -> float:
        return self.total.agreement

    @property
    def flagged(self) -> bool:
        return self.agreement < self.threshold


def load_photos(folder: Path) -> list[tuple[str, np.ndarray]]:
    """The photos of `folder` (jpg, png, bmp), sorted by name, as BGR arrays; an unreadable one is an error."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFileError(f'{folder}: not a folder of photos')
    photos = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in _PHOTO_SUFFIXES):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ModelFileError(f'{path}: cannot be read as an image')
        photos.append((path.name, image))
    if not photos:
        raise ModelFileError(f'{folder}: no photos ({", ".join(_PHOTO_SUFFIXES)})')
    return photos


def run_model(card: ModelCard, model: Path, photos: Sequence[tuple[str, np.ndarray]]) -> list[ModelResult]:
    """`card`'s pipeline with `model` as its file, on ONNX Runtime, over the photos."""
    if card.task not in EVALUATED_TASKS:
        raise ModelFileError(f'{card.path}: evaluation compares {" and ".join(EVALUATED_TASKS)} models; '
                             f'this card is {card.task}')
    card = replace(card, file=str(Path(model).resolve()), format='onnx')
    with create_backend('onnxruntime', card, options=BackendOptions()) as backend:
        pipeline = ModelPipeline(card, backend)
        return [pipeline.process(image, 'bgr8') for _, image in photos]


def compare(task: str, names: Sequence[str], original: Sequence[ModelResult], changed: Sequence[ModelResult], *,
            threshold: float) -> Evaluation:
    rows = []
    for name, before, after in zip(names, original, changed):
        if task == 'detection':
            rows.append(PhotoRow(name, detections=match_detections(before.detections, after.detections)))
        elif task == 'segmentation':
            rows.append(PhotoRow(name, measure=mask_iou(before.mask, after.mask)))
        else:
            rows.append(PhotoRow(name, measure=depth_correlation(before.depth.values, after.depth.values)))
    return Evaluation(task, tuple(rows), threshold)


def layer_sensitivity(card: ModelCard, source: Path, plans: Sequence[LayerPlan],
                      photos: Sequence[tuple[str, np.ndarray]], original: Sequence[ModelResult], *,
                      threshold: float, progress: Callable[[str], None] = lambda _: None
                      ) -> list[tuple[LayerPlan, Evaluation]]:
    """Each prunable layer pruned alone, evaluated against the original; worst agreement first."""
    names = [name for name, _ in photos]
    results = []
    with tempfile.TemporaryDirectory(prefix='jetson-edge-prune-') as scratch:
        single = Path(scratch) / 'one_layer.onnx'
        prunable = [plan for plan in plans if plan.prunable]
        for index, plan in enumerate(prunable, 1):
            progress(f'[{index}/{len(prunable)}] {plan.name}')
            graph = load_graph(source)
            apply_pruning(graph, [plan])
            graph.save(single)
            evaluation = compare(card.task, names, original, run_model(card, single, photos), threshold=threshold)
            results.append((plan, evaluation))
    return sorted(results, key=lambda item: item[1].agreement)


def _ratio(value: float, defined: bool, width: int) -> str:
    return f'{value:>{width}.2f}' if defined else f'{"-":>{width}}'


def _cells(row: PhotoRow) -> str:
    if row.detections is not None:
        d = row.detections
        change = f'{d.mean_score_change:>+12.3f}' if d.matched else f'{"-":>12}'
        return (f'{d.original:>8}  {d.changed:>6}  {d.matched:>7}  {_ratio(d.recall, d.original > 0, 6)}  '
                f'{_ratio(d.precision, d.changed > 0, 9)}  {change}  {row.agreement:>5.2f}')
    return f'{row.measure:>8.3f}'


def format_evaluation(evaluation: Evaluation) -> str:
    """The per-photo table, the pooled row, and a FLAGGED or OK verdict line."""
    width = max([len(row.photo) for row in evaluation.rows] + [5])
    if evaluation.task == 'detection':
        header = (f'{"photo":<{width}}  original  pruned  matched  recall  precision  score change  '
                  f'   F1')
        measure = f'detection F1 (label match, IoU >= {MATCH_IOU})'
    else:
        header = f'{"photo":<{width}}  {_MEASURES[evaluation.task]}'
        measure = f'mean {_MEASURES[evaluation.task]}'
    lines = [header]
    lines += [f'{row.photo:<{width}}  {_cells(row)}' for row in (*evaluation.rows, evaluation.total)]
    verdict = 'FLAGGED' if evaluation.flagged else 'OK'
    relation = 'under' if evaluation.flagged else 'at or above'
    lines.append(f'{verdict}: {measure} of the pruned model against the original is {evaluation.agreement:.3f}, '
                 f'{relation} the threshold {evaluation.threshold}')
    return '\n'.join(lines)


def format_sensitivity(results: Sequence[tuple[LayerPlan, Evaluation]]) -> str:
    """One line per layer pruned alone, worst agreement first."""
    width = max([len(plan.name) for plan, _ in results] + [5])
    lines = [f'{"layer (pruned alone)":<{width}}  {"weight shape":<14}  agreement']
    for plan, evaluation in results:
        shape = 'x'.join(map(str, plan.shape))
        lines.append(f'{plan.name:<{width}}  {shape:<14}  {evaluation.agreement:9.3f}')
    return '\n'.join(lines)
