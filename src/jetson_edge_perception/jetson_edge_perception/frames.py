"""Checked, zero-copy views of raw image buffers, and counting of the frames that had to be dropped.

`frame_view` turns the fields of a sensor_msgs/Image (encoding, height, width, step, data) into a
numpy view on the same memory: no pixel is copied between the message and preprocessing. Bad
frames raise `FrameError` with a stable `reason` so the caller can count drops per cause.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Mapping

import numpy as np

from .errors import FrameError

#: encoding -> channels; all 8 bits per channel.
CHANNELS: Mapping[str, int] = {'rgb8': 3, 'bgr8': 3, 'rgba8': 4, 'bgra8': 4, 'mono8': 1}


def frame_view(*, encoding: str, height: int, width: int, step: int, data: object) -> np.ndarray:
    """A (height, width, channels) uint8 view of `data` (bytes, bytearray, memoryview, array.array, ndarray).

    Rows may be padded (`step` > width * channels); the view skips the padding without copying.
    """
    channels = CHANNELS.get(encoding)
    if channels is None:
        raise FrameError('encoding', f'unsupported encoding {encoding!r} (supported: {", ".join(CHANNELS)})')
    if height <= 0 or width <= 0:
        raise FrameError('zero_size', f'image has zero size ({width}x{height})')
    row_bytes = width * channels
    if step < row_bytes:
        raise FrameError('step', f'step {step} is shorter than a row of {width} {encoding} pixels ({row_bytes} bytes)')
    try:
        flat = np.frombuffer(data, dtype=np.uint8)
    except (TypeError, ValueError) as exc:
        raise FrameError('data', f'image data is not a byte buffer: {exc}') from exc
    needed = step * (height - 1) + row_bytes
    if flat.size < needed:
        raise FrameError('short_data', f'image data has {flat.size} bytes, {width}x{height} {encoding} with step {step} needs {needed}')
    view = np.lib.stride_tricks.as_strided(flat, shape=(height, width, channels), strides=(step, channels, 1),
                                           writeable=False)
    return view


class DropCounter:
    """Thread-safe counts of dropped frames by reason (`encoding`, `short_data`, `stale`, `rate`...)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, reason: str, count: int = 1) -> None:
        with self._lock:
            self._counts[reason] += count

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())
