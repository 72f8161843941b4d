"""Camera messages -> images the models run on, and counting of the frames that had to be dropped.

`read_frame` takes a sensor_msgs/Image (or any object with its fields), or its serialized bytes
as a raw subscription receives them (read in place by `jetson_edge_common.image_cdr`, which skips
rclpy's deserialization), and views the pixels through `jetson_edge_common.image.image_to_ndarray`:
a read-only view on the received buffer, so no pixel is copied between DDS and preprocessing.
Perception runs on 8-bit colour and mono images; other encodings that common can read (mono16,
32FC1, the colour-order-less 8UC3...) are refused too. A frame that cannot be used raises
`FrameError` whose `reason` is the token common gave (`encoding`, `zero_size`, `step`,
`short_data`, `data`, `encapsulation`), so drops are counted per cause under the same names everywhere.
A frame over `FrameLimits` (`too_many_pixels`, `too_many_bytes`) is refused from its header fields
alone, before perception makes any copy of its pixels.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from jetson_edge_common.image import ImageFormatError, image_to_ndarray
from jetson_edge_common.image_cdr import image_from_cdr

from .errors import FrameError

#: Encodings the preprocessing converts to a model's colour order (mono8 is replicated to 3 channels).
SUPPORTED_ENCODINGS: tuple[str, ...] = ('rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8')


class ImageLike(Protocol):
    """The fields of a sensor_msgs/Image that a frame is read from."""

    header: object  # std_msgs/Header or jetson_edge_common.image_cdr.ImageHeader: .stamp.sec/.nanosec, .frame_id
    encoding: str
    height: int
    width: int
    step: int
    is_bigendian: int
    data: object


@dataclass(frozen=True)
class FrameLimits:
    """The largest frame perception accepts; the defaults are the `max_frame_*` parameters' (params.py)."""

    max_pixels: int
    max_bytes: int


def check_frame_size(msg: ImageLike, limits: FrameLimits) -> None:
    """FrameError (`too_many_pixels`, `too_many_bytes`) when `msg`'s header fields exceed `limits`.

    Reads only the fields and the length of `data`, so a huge frame costs nothing beyond the one
    copy the middleware made before the callback.
    """
    pixels = int(msg.height) * int(msg.width)
    if pixels > limits.max_pixels:
        raise FrameError('too_many_pixels', f'{msg.width}x{msg.height} image has {pixels} pixels, more than '
                                            f'max_frame_pixels {limits.max_pixels}')
    size = len(msg.data)
    if size > limits.max_bytes:
        raise FrameError('too_many_bytes', f'image data of {size} bytes is more than max_frame_bytes '
                                           f'{limits.max_bytes}')


def frame_image(msg: ImageLike) -> np.ndarray:
    """A zero-copy (H, W, C) view of `msg` ((H, W) for mono8), or FrameError saying why not.

    Rows may be padded (`step` > width * channels); the view skips the padding without copying.
    """
    if msg.encoding not in SUPPORTED_ENCODINGS:
        raise FrameError('encoding', f'perception does not run on {msg.encoding!r} images '
                                     f'(supported: {", ".join(SUPPORTED_ENCODINGS)})')
    try:
        return image_to_ndarray(msg)
    except ImageFormatError as exc:
        raise FrameError(exc.reason, str(exc)) from exc


def read_frame(msg: ImageLike | bytes, *, limits: FrameLimits | None = None) -> tuple[ImageLike, np.ndarray]:
    """(the message, its pixels) from an Image or its serialized CDR bytes; FrameError says why not.

    With `limits`, a frame over them is refused before its pixels are viewed.
    """
    if isinstance(msg, (bytes, bytearray, memoryview)):
        try:
            msg = image_from_cdr(msg)
        except ImageFormatError as exc:
            raise FrameError(exc.reason, str(exc)) from exc
    if limits is not None:
        check_frame_size(msg, limits)
    return msg, frame_image(msg)


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
