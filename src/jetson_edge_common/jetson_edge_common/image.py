"""sensor_msgs/Image <-> numpy without cv_bridge (which PyPI does not ship).

:func:`image_to_ndarray` returns a view on the message's own buffer whenever the layout allows
(no copy of the pixels): rows padded by ``step`` become a strided view, and only data in the
non-native byte order is copied. Anything inconsistent raises :class:`ImageFormatError` with
what was wrong, so a node can count and skip the frame.
"""

from __future__ import annotations

import array
import sys
from typing import NamedTuple

import numpy as np

from .byte_fields import message_with_bytes


class ImageFormatError(ValueError):
    """The message cannot be read as an image: unsupported encoding or inconsistent sizes.

    ``reason`` is a short stable token a node can count drops by: ``encoding`` (not in
    :data:`ENCODINGS`), ``zero_size`` (height or width 0), ``step`` (shorter than a row),
    ``short_data`` (fewer bytes than the sizes declare), ``data`` (not a byte buffer, or a
    malformed serialized image); from :func:`ndarray_to_image`: ``channels``, ``dtype``; from
    :mod:`jetson_edge_common.image_cdr`: ``encapsulation`` (a representation it does not read).
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class Encoding(NamedTuple):
    dtype: np.dtype
    channels: int


ENCODINGS: dict[str, Encoding] = {
    'mono8': Encoding(np.dtype(np.uint8), 1),
    '8UC1': Encoding(np.dtype(np.uint8), 1),
    'mono16': Encoding(np.dtype(np.uint16), 1),
    '16UC1': Encoding(np.dtype(np.uint16), 1),
    'rgb8': Encoding(np.dtype(np.uint8), 3),
    'bgr8': Encoding(np.dtype(np.uint8), 3),
    '8UC3': Encoding(np.dtype(np.uint8), 3),
    'rgba8': Encoding(np.dtype(np.uint8), 4),
    'bgra8': Encoding(np.dtype(np.uint8), 4),
    '8UC4': Encoding(np.dtype(np.uint8), 4),
    '32FC1': Encoding(np.dtype(np.float32), 1),
}

_NATIVE_BIG_ENDIAN = sys.byteorder == 'big'


def _buffer(data) -> np.ndarray:
    """A uint8 view of a message's ``data`` field (array.array, bytes, list) without copying."""
    try:
        if isinstance(data, (array.array, bytes, bytearray, memoryview, np.ndarray)):
            return np.frombuffer(data, dtype=np.uint8)
        return np.asarray(data, dtype=np.uint8).reshape(-1)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ImageFormatError(f'image data is not a byte buffer: {exc}', reason='data') from exc


def image_to_ndarray(msg) -> np.ndarray:
    """Returns the pixels as ``(height, width)`` or ``(height, width, channels)``.

    The result is a read-only view of ``msg.data`` where possible; copy it before modifying.
    """
    enc = ENCODINGS.get(msg.encoding)
    if enc is None:
        raise ImageFormatError(
            f'unsupported encoding {msg.encoding!r}; supported: {", ".join(sorted(ENCODINGS))}',
            reason='encoding')
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise ImageFormatError(f'empty image ({width}x{height})', reason='zero_size')
    row_bytes = width * enc.channels * enc.dtype.itemsize
    if step < row_bytes:
        raise ImageFormatError(
            f'step {step} is smaller than a row of {width} {msg.encoding} pixels ({row_bytes} bytes)',
            reason='step')
    buf = _buffer(msg.data)
    needed = step * (height - 1) + row_bytes
    if buf.size < needed:
        raise ImageFormatError(
            f'data holds {buf.size} bytes but {width}x{height} {msg.encoding} with step {step} '
            f'needs {needed}', reason='short_data')
    dtype = enc.dtype
    if dtype.itemsize > 1:
        dtype = dtype.newbyteorder('>' if msg.is_bigendian else '<')
    shape = (height, width, enc.channels) if enc.channels > 1 else (height, width)
    strides = ((step, enc.channels * dtype.itemsize, dtype.itemsize) if enc.channels > 1
               else (step, dtype.itemsize))
    view = np.ndarray(shape, dtype=dtype, buffer=buf, strides=strides)
    view.flags.writeable = False
    if dtype.itemsize > 1 and bool(msg.is_bigendian) != _NATIVE_BIG_ENDIAN:
        return view.astype(dtype.newbyteorder('='))
    return view


def ndarray_to_image(pixels: np.ndarray, encoding: str, *, header=None):
    """Builds a sensor_msgs/Image from ``pixels`` (one copy into the message's buffer)."""
    from sensor_msgs.msg import Image

    enc = ENCODINGS.get(encoding)
    if enc is None:
        raise ImageFormatError(f'unsupported encoding {encoding!r}', reason='encoding')
    pixels = np.asarray(pixels)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if pixels.ndim not in (2, 3) or channels != enc.channels:
        raise ImageFormatError(
            f'{encoding} needs {enc.channels} channel(s), array has shape {pixels.shape}', reason='channels')
    if pixels.dtype != enc.dtype:
        raise ImageFormatError(f'{encoding} needs dtype {enc.dtype}, array is {pixels.dtype}', reason='dtype')
    pixels = np.ascontiguousarray(pixels)
    return message_with_bytes(
        Image, pixels.data.cast('B'), header=header, height=int(pixels.shape[0]),
        width=int(pixels.shape[1]), encoding=encoding,
        is_bigendian=int(_NATIVE_BIG_ENDIAN and enc.dtype.itemsize > 1),
        step=int(pixels.shape[1] * enc.channels * enc.dtype.itemsize))
