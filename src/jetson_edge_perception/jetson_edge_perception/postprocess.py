"""Raw network outputs -> detections or a class mask: box decoding, per-class NMS, mask threshold/argmax.

Pure numpy/OpenCV shared by every backend. Boxes come out as float32 (x0, y0, x1, y1) in source
image pixels. Decoders:

- `ssd_tf`: TF object-detection-API box coder over anchors (ty, tx, th, tw with scale factors
  10, 10, 5, 5), per-class scores, per-class NMS.
- `detection_out`: OpenCV/Caffe DetectionOutput rows (image, class, score, x0, y0, x1, y1 normalized),
  already suppressed by the graph.
- `yolo`: ultralytics YOLOv8/YOLO11 `[1, 4+nc, N]` (cx, cy, w, h in input pixels, then class scores).
- `ssd_scores_boxes`: pytorch-ssd / jetson-inference `scores [1, N, C]` and `boxes [1, N, 4]` normalized.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import cv2
import numpy as np

from .errors import BackendError
from .model_card import DecoderSpec, InputSpec
from .preprocess import Transform


@dataclass(frozen=True)
class Detections:
    """N detections: boxes (N, 4) float32 x0, y0, x1, y1 in source pixels, scores (N,), class_ids (N,) int."""

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @classmethod
    def empty(cls) -> 'Detections':
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32))

    def select(self, keep: np.ndarray) -> 'Detections':
        return Detections(self.boxes[keep], self.scores[keep], self.class_ids[keep])

    def filtered(self, *, score_threshold: float = 0.0, class_ids: frozenset[int] | None = None,
                 max_detections: int | None = None) -> 'Detections':
        """Detections above a threshold, of the given classes, best first, at most `max_detections`."""
        keep = self.scores >= score_threshold
        if class_ids is not None:
            keep &= np.isin(self.class_ids, np.fromiter(class_ids, np.int64, len(class_ids)))
        idx = np.flatnonzero(keep)
        idx = idx[np.argsort(-self.scores[idx], kind='stable')]
        if max_detections is not None:
            idx = idx[:max_detections]
        return self.select(idx)


def _xywh(boxes: np.ndarray) -> np.ndarray:
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1).astype(np.float64)


def _positive(scores: np.ndarray) -> np.ndarray:
    """Scores as OpenCV's NMS takes them: float32, all above its (non-negative) threshold of 0;
    a shift keeps the order of raw scores that can be zero or negative."""
    scores = np.asarray(scores, np.float32)
    low = float(scores.min())
    return scores if low > 0 else scores + np.float32(1.0 - low)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, *, max_output: int | None = None) -> np.ndarray:
    """Greedy non-maximum suppression (OpenCV's, in C++: a box goes when its IoU with a kept,
    better box exceeds the threshold); indices of kept boxes, best score first."""
    if boxes.shape[0] == 0:
        return np.zeros(0, np.int64)
    keep = cv2.dnn.NMSBoxes(_xywh(boxes), _positive(scores), 0.0, iou_threshold, top_k=max_output or 0)
    return np.asarray(keep, np.int64).reshape(-1)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, iou_threshold: float, *,
                max_output: int | None = None) -> np.ndarray:
    """Per-class NMS: boxes of different classes never suppress each other. Indices, best first."""
    if boxes.shape[0] == 0:
        return np.zeros(0, np.int64)
    keep = cv2.dnn.NMSBoxesBatched(_xywh(boxes), _positive(scores), np.asarray(class_ids, np.int32), 0.0,
                                   iou_threshold)
    keep = np.asarray(keep, np.int64).reshape(-1)
    # best first across classes, then the cap
    keep = keep[np.argsort(-np.asarray(scores)[keep], kind='stable')]
    return keep[:max_output] if max_output is not None else keep


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _activate(scores: np.ndarray, activation: str) -> np.ndarray:
    if activation == 'sigmoid':
        return _sigmoid(scores)
    if activation == 'softmax':
        return _softmax(scores)
    return scores


def _output(outputs: Mapping[str, np.ndarray], decoder: DecoderSpec, role: str) -> np.ndarray:
    name = decoder.outputs.get(role)
    if name is None:
        if len(outputs) == 1:
            return next(iter(outputs.values()))
        raise BackendError(f'decoder {decoder.type} needs outputs.{role} in the model card; outputs are {list(outputs)}')
    if name not in outputs:
        raise BackendError(f'model output {name!r} ({role}) missing; the backend returned {list(outputs)}')
    return outputs[name]


def _threshold_pairs(scores: np.ndarray, threshold: float, background: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(row, class) pairs of an (N, C) score matrix above threshold, skipping the background column."""
    above = scores > threshold
    if background is not None:
        above[:, background] = False
    # 1-D flatnonzero + divmod: a quarter of np.nonzero's time on COCO SSD's 1917 x 91 matrix.
    rows, cols = np.divmod(np.flatnonzero(above), scores.shape[1])
    return rows, cols


def decode_ssd_tf(box_encodings: np.ndarray, anchors: np.ndarray, *, box_scale: tuple[float, float, float, float]
                  ) -> np.ndarray:
    """TF box coder: (N, 4) ty, tx, th, tw against (N, 4) ymin, xmin, ymax, xmax anchors -> normalized x0, y0, x1, y1."""
    enc = box_encodings.reshape(-1, 4).astype(np.float32)
    anc = anchors.reshape(-1, 4).astype(np.float32)
    ah = anc[:, 2] - anc[:, 0]
    aw = anc[:, 3] - anc[:, 1]
    acy = anc[:, 0] + ah / 2
    acx = anc[:, 1] + aw / 2
    cy = enc[:, 0] / box_scale[0] * ah + acy
    cx = enc[:, 1] / box_scale[1] * aw + acx
    h = np.exp(enc[:, 2] / box_scale[2]) * ah
    w = np.exp(enc[:, 3] / box_scale[3]) * aw
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def _scaled_to_source(norm_boxes: np.ndarray, spec: InputSpec, transform: Transform) -> np.ndarray:
    pix = norm_boxes * np.array([spec.width, spec.height, spec.width, spec.height], np.float32)
    return transform.boxes_to_source(pix)


def _nms_detections(boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, *, iou: float,
                    max_detections: int) -> Detections:
    keep = batched_nms(boxes, scores, class_ids, iou, max_output=max_detections)
    return Detections(boxes[keep].astype(np.float32), scores[keep].astype(np.float32), class_ids[keep].astype(np.int32))


def decode_detections(outputs: Mapping[str, np.ndarray], decoder: DecoderSpec, spec: InputSpec, transform: Transform,
                      *, score_threshold: float, max_detections: int, num_classes: int | None = None) -> Detections:
    """Dispatch on `decoder.type`; boxes in source pixels, NMS applied where the model does not.

    `num_classes` (the card's label count) tells which YOLO axis holds the 4 + nc attributes; without
    it the shorter axis is taken, which holds for any real model (N is thousands of candidates).
    """
    if decoder.type == 'ssd_tf':
        logits = _output(outputs, decoder, 'scores')
        logits = logits.reshape(-1, logits.shape[-1])
        if decoder.score_activation == 'sigmoid':
            # sigmoid is monotonic: threshold the logits and activate only the survivors
            # (saves ~170k exponentials per frame for COCO SSD).
            cut = np.log(score_threshold / (1 - score_threshold)) if 0 < score_threshold < 1 else (
                -np.inf if score_threshold <= 0 else np.inf)
            rows, cols = _threshold_pairs(logits, cut, decoder.background_class)
            scores = _sigmoid(logits[rows, cols])
        else:
            activated = _activate(logits, decoder.score_activation)
            rows, cols = _threshold_pairs(activated, score_threshold, decoder.background_class)
            scores = activated[rows, cols]
        if rows.size == 0:
            return Detections.empty()
        encodings = _output(outputs, decoder, 'boxes').reshape(-1, 4)[rows]
        anchors = _output(outputs, decoder, 'anchors').reshape(-1, 4)[rows]
        boxes = _scaled_to_source(decode_ssd_tf(encodings, anchors, box_scale=decoder.box_scale), spec, transform)
        return _nms_detections(boxes, scores, cols, iou=decoder.iou_threshold, max_detections=max_detections)
    if decoder.type == 'ssd_scores_boxes':
        raw = _output(outputs, decoder, 'scores')
        scores = _activate(raw.reshape(-1, raw.shape[-1]), decoder.score_activation)
        rows, cols = _threshold_pairs(scores, score_threshold, decoder.background_class)
        if rows.size == 0:
            return Detections.empty()
        norm = _output(outputs, decoder, 'boxes').reshape(-1, 4)[rows]
        boxes = _scaled_to_source(norm, spec, transform)
        return _nms_detections(boxes, scores[rows, cols], cols, iou=decoder.iou_threshold, max_detections=max_detections)
    if decoder.type == 'yolo':
        raw = _output(outputs, decoder, 'boxes')
        table = raw.reshape(raw.shape[-2], raw.shape[-1])
        attributes_first = (table.shape[0] == 4 + num_classes) if num_classes else table.shape[0] < table.shape[1]
        if attributes_first:
            table = table.T  # [4+nc, N] -> [N, 4+nc]
        class_scores = _activate(table[:, 4:], decoder.score_activation)
        class_ids = class_scores.argmax(axis=1)
        scores = class_scores[np.arange(class_scores.shape[0]), class_ids]
        keep = scores > score_threshold
        if not keep.any():
            return Detections.empty()
        cx, cy, w, h = (table[keep, i] for i in range(4))
        pix = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        boxes = transform.boxes_to_source(pix)
        return _nms_detections(boxes, scores[keep], class_ids[keep], iou=decoder.iou_threshold,
                               max_detections=max_detections)
    if decoder.type == 'detection_out':
        rows = _output(outputs, decoder, 'boxes').reshape(-1, 7)
        rows = rows[rows[:, 2] > score_threshold]
        rows = rows[np.argsort(-rows[:, 2], kind='stable')][:max_detections]
        boxes = _scaled_to_source(rows[:, 3:7], spec, transform)
        return Detections(boxes, rows[:, 2].astype(np.float32), rows[:, 1].astype(np.int32))
    raise BackendError(f'decoder {decoder.type!r} does not produce detections')


def decode_mask(outputs: Mapping[str, np.ndarray], decoder: DecoderSpec, spec: InputSpec,
                transform: Transform) -> np.ndarray:
    """A (src_h, src_w) uint8 class-id mask, resized back to the source image (letterbox padding removed).

    `mask_probability`: one probability channel, resized bilinearly, then thresholded to
    `mask_class_id` / 0. `mask_argmax`: per-class scores (channel axis from the decoder's `layout`), argmax at
    input resolution, resized nearest.
    """
    raw = _output(outputs, decoder, 'mask')
    rows, cols = transform.content_region(spec.width, spec.height)
    size = (transform.src_w, transform.src_h)
    if decoder.type == 'mask_probability':
        prob = np.squeeze(raw)
        if prob.ndim != 2:
            raise BackendError(f'mask_probability expects one channel, got output shape {raw.shape}')
        prob = np.ascontiguousarray(prob[rows, cols], np.float32)
        prob = cv2.resize(prob, size, interpolation=cv2.INTER_LINEAR)
        return np.where(prob > decoder.mask_threshold, np.uint8(decoder.mask_class_id), np.uint8(0)).astype(np.uint8)
    if decoder.type == 'mask_argmax':
        scores = raw.reshape(raw.shape[-3:])
        classes = scores.argmax(axis=0 if decoder.layout == 'NCHW' else 2).astype(np.uint8)
        return cv2.resize(np.ascontiguousarray(classes[rows, cols]), size, interpolation=cv2.INTER_NEAREST)
    raise BackendError(f'decoder {decoder.type!r} does not produce a mask')
