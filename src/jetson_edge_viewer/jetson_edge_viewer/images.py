"""sensor_msgs/Image -> foxglove.CompressedImage (JPEG).

Takes a message or a :class:`jetson_edge_common.image_cdr.SerializedImage` (the same fields,
read in place from a raw subscription). The Foxglove image keeps the source header's stamp and
frame, which is what the Image panel matches a detection's annotations to.
"""

from __future__ import annotations

import cv2
import numpy as np
from foxglove.messages import CompressedImage

from jetson_edge_common.image import ImageFormatError, image_to_ndarray
from jetson_edge_common.image_cdr import image_from_cdr

from .errors import ConversionError
from .stamps import foxglove_stamp

# encoding -> conversion to what cv2.imencode takes (BGR or gray, 8 bit); None: as it is
_TO_ENCODABLE = {
    'bgr8': None, '8UC3': None, 'mono8': None, '8UC1': None,
    'rgb8': cv2.COLOR_RGB2BGR, 'rgba8': cv2.COLOR_RGBA2BGR, 'bgra8': cv2.COLOR_BGRA2BGR, '8UC4': cv2.COLOR_BGRA2BGR,
}


def encodable_pixels(msg) -> np.ndarray:
    """The image as 8-bit BGR or gray pixels; :class:`ConversionError` if it cannot be."""
    try:
        pixels = image_to_ndarray(msg)
    except ImageFormatError as exc:
        raise ConversionError(str(exc), reason=exc.reason) from exc
    if msg.encoding not in _TO_ENCODABLE:
        raise ConversionError(f'image encoding {msg.encoding!r} is not shown as JPEG; shown: '
                              f'{", ".join(sorted(_TO_ENCODABLE))}', reason='encoding')
    code = _TO_ENCODABLE[msg.encoding]
    return pixels if code is None else cv2.cvtColor(pixels, code)


def to_compressed_image(msg, *, jpeg_quality: int) -> CompressedImage:
    pixels = encodable_pixels(msg)
    ok, jpeg = cv2.imencode('.jpg', pixels, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
    if not ok:
        raise ConversionError(f'JPEG encoding of a {msg.width}x{msg.height} {msg.encoding} image failed',
                              reason='jpeg')
    return CompressedImage(timestamp=foxglove_stamp(msg.header.stamp), frame_id=msg.header.frame_id,
                           data=jpeg.tobytes(), format='jpeg')


def serialized_image(raw: bytes):
    """A raw subscription's bytes read as an image in place (:mod:`jetson_edge_common.image_cdr`)."""
    try:
        return image_from_cdr(raw)
    except ImageFormatError as exc:
        raise ConversionError(str(exc), reason=exc.reason) from exc
