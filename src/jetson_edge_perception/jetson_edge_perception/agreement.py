"""How far a changed model (pruned, quantized) agrees with the original, per task, on one image.

Pure numpy. The original's output is the reference: a detection of the original that the changed
model also finds (same label, IoU >= 0.5) is matched; recall is matched / the original's detections,
precision matched / the changed model's. Masks agree by IoU per class, depth maps by correlation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .postprocess import Detections

__all__ = ['MATCH_IOU', 'DetectionAgreement', 'match_detections', 'box_iou', 'mask_iou', 'depth_correlation']

MATCH_IOU = 0.5


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of x0, y0, x1, y1 boxes."""
    a = np.asarray(a, np.float64)[:, None, :]
    b = np.asarray(b, np.float64)[None, :, :]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area = lambda box: (box[..., 2] - box[..., 0]) * (box[..., 3] - box[..., 1])  # noqa: E731
    union = area(a) + area(b) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


@dataclass(frozen=True)
class DetectionAgreement:
    """Counts over one or more images; `score_changes` are changed minus original scores of matched pairs."""

    original: int
    changed: int
    matched: int
    score_changes: tuple[float, ...] = ()

    @property
    def recall(self) -> float:
        return self.matched / self.original if self.original else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.changed if self.changed else 1.0

    @property
    def mean_score_change(self) -> float:
        return float(np.mean(self.score_changes)) if self.score_changes else 0.0

    def __add__(self, other: 'DetectionAgreement') -> 'DetectionAgreement':
        return DetectionAgreement(self.original + other.original, self.changed + other.changed,
                                  self.matched + other.matched, self.score_changes + other.score_changes)


def match_detections(original: Detections, changed: Detections, *, iou: float = MATCH_IOU) -> DetectionAgreement:
    """Greedy one-to-one matching, the original's best-scored detections first, same class only."""
    overlaps = box_iou(original.boxes, changed.boxes)
    overlaps[original.class_ids[:, None] != changed.class_ids[None, :]] = -1.0
    taken = np.zeros(len(changed), bool)
    changes = []
    for i in np.argsort(-original.scores, kind='stable'):
        candidates = np.where(taken, -1.0, overlaps[i])
        j = int(np.argmax(candidates)) if len(changed) else -1
        if j >= 0 and candidates[j] >= iou:
            taken[j] = True
            changes.append(float(changed.scores[j] - original.scores[i]))
    return DetectionAgreement(len(original), len(changed), len(changes), tuple(changes))


def mask_iou(original: np.ndarray, changed: np.ndarray) -> float:
    """Mean IoU over the non-background classes (id > 0) present in either class-id mask; 1.0 when neither has any."""
    if original.shape != changed.shape:
        raise ValueError(f'masks differ in shape: {original.shape} vs {changed.shape}')
    classes = np.union1d(np.unique(original), np.unique(changed))
    ious = [np.count_nonzero((original == c) & (changed == c)) / np.count_nonzero((original == c) | (changed == c))
            for c in classes if c > 0]
    return float(np.mean(ious)) if ious else 1.0


def depth_correlation(original: np.ndarray, changed: np.ndarray) -> float:
    """Pearson correlation of two depth maps over the pixels finite in both (0.0 when either is constant)."""
    if original.shape != changed.shape:
        raise ValueError(f'depth maps differ in shape: {original.shape} vs {changed.shape}')
    a = np.asarray(original, np.float64).ravel()
    b = np.asarray(changed, np.float64).ravel()
    finite = np.isfinite(a) & np.isfinite(b)
    if not finite.any():
        return 0.0
    a, b = a[finite] - a[finite].mean(), b[finite] - b[finite].mean()
    norm = np.sqrt(np.dot(a, a) * np.dot(b, b))
    return float(np.dot(a, b) / norm) if norm > 0 else 0.0
