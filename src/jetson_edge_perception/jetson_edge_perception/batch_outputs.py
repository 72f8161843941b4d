"""A batched inference's outputs -> one output dict per image, for the per-image decoders.

Outputs carry the batch on their first axis, except two kinds: an output the decoder names as
`anchors` is the same for every image (a constant of the graph), and the `detection_out` rows of
OpenCV/Caffe DetectionOutput are one table for the whole batch whose first column is the image.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .errors import BackendError
from .model_card import DecoderSpec

_SHARED_ROLES = ('anchors',)


def split_outputs(outputs: Mapping[str, np.ndarray], decoder: DecoderSpec, batch: int) -> list[dict[str, np.ndarray]]:
    """One mapping per image of a batch of `batch`; raises BackendError for an output with no batch axis."""
    if batch == 1:
        return [dict(outputs)]
    shared = {decoder.outputs[role] for role in _SHARED_ROLES if role in decoder.outputs}
    per_image: list[dict[str, np.ndarray]] = [{} for _ in range(batch)]
    for name, value in outputs.items():
        if name in shared:
            for item in per_image:
                item[name] = value
        elif decoder.type == 'detection_out':
            rows = value.reshape(-1, 7)
            image = rows[:, 0].astype(np.int64)
            for i, item in enumerate(per_image):
                item[name] = rows[image == i]
        elif value.ndim and value.shape[0] == batch:
            for i, item in enumerate(per_image):
                item[name] = value[i:i + 1]
        else:
            raise BackendError(f'output {name!r} of shape {value.shape} has no batch axis of {batch}; '
                               f'set batch: fixed in the model card')
    return per_image
