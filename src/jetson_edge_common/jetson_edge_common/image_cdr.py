"""sensor_msgs/Image read from its serialized (CDR) form, the pixels left where they arrived.

A subscription created with ``raw=True`` hands its callback the serialized bytes instead of a
message. rclpy's own deserialization of an Image builds the Python message and fills
``data`` element-wise: about 0.9 ms for a 1.3 MB frame on a laptop core, 15 times the cost of
copying those bytes, and paid on every frame before the callback even runs.
:func:`image_from_cdr` reads the few header fields and leaves ``data`` a read-only memoryview on
the received bytes, so :func:`jetson_edge_common.image.image_to_ndarray` views the pixels
without any copy after the one DDS makes.

The layout is the OMG CDR of sensor_msgs/Image, which every ROS 2 RMW uses for ROS types:
a 4-byte encapsulation header (representation id, options), then the fields in order, each
primitive aligned to its size from the end of that header, strings as a uint32 length that
counts the terminating NUL, sequences as a uint32 count. XCDR1 (``CDR_BE``/``CDR_LE``) and
XCDR2 ``PLAIN_CDR2`` lay out Image alike (they differ only for 8-byte fields, which Image has
none of). Other representations raise :class:`ImageFormatError` with reason ``encapsulation``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .image import ImageFormatError

# representation identifier -> struct byte order
_BYTE_ORDERS = {0x0000: '>', 0x0001: '<', 0x0006: '>', 0x0007: '<'}
_HEADER_SIZE = 4


@dataclass(frozen=True)
class Stamp:
    sec: int
    nanosec: int


@dataclass(frozen=True)
class ImageHeader:
    """The std_msgs/Header of a serialized image (same attribute names, so readers need not care which)."""

    stamp: Stamp
    frame_id: str


@dataclass(frozen=True)
class SerializedImage:
    """The fields of a sensor_msgs/Image; ``data`` is a read-only view on the serialized bytes."""

    header: ImageHeader
    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: memoryview


class _Reader:
    def __init__(self, view: memoryview, order: str) -> None:
        self._view = view
        self._order = order
        self.pos = _HEADER_SIZE

    def _span(self, size: int, align: int, what: str) -> int:
        start = self.pos + (-(self.pos - _HEADER_SIZE) % align)
        end = start + size
        if end > len(self._view):
            raise ImageFormatError(f'serialized image ends inside {what} ({len(self._view)} bytes, '
                                   f'{end} needed)', reason='data')
        self.pos = end
        return start

    def number(self, code: str, what: str) -> int:
        size = struct.calcsize(code)
        return struct.unpack_from(self._order + code, self._view, self._span(size, size, what))[0]

    def raw(self, size: int, what: str) -> memoryview:
        start = self._span(size, 1, what)
        return self._view[start:start + size]

    def string(self, what: str) -> str:
        length = self.number('I', f'{what} length')
        text = self.raw(length, what)
        try:
            return bytes(text[:-1] if length else text).decode('utf-8')
        except UnicodeDecodeError as exc:
            raise ImageFormatError(f'serialized image {what} is not UTF-8: {exc}', reason='data') from exc


def image_from_cdr(buffer: bytes | bytearray | memoryview) -> SerializedImage:
    """Reads a serialized sensor_msgs/Image (as a ``raw=True`` subscription receives it) without copying pixels."""
    view = memoryview(buffer).cast('B')
    if len(view) < _HEADER_SIZE:
        raise ImageFormatError(f'serialized image has {len(view)} bytes, fewer than its encapsulation header',
                               reason='data')
    representation = int.from_bytes(view[:2], 'big')
    order = _BYTE_ORDERS.get(representation)
    if order is None:
        raise ImageFormatError(
            f'serialized image uses representation 0x{representation:04x}; only CDR and plain CDR2 are read '
            f'in place (subscribe without raw intake to let the RMW deserialize it)', reason='encapsulation')
    reader = _Reader(view.toreadonly(), order)
    stamp = Stamp(reader.number('i', 'header.stamp.sec'), reader.number('I', 'header.stamp.nanosec'))
    header = ImageHeader(stamp, reader.string('header.frame_id'))
    height = reader.number('I', 'height')
    width = reader.number('I', 'width')
    encoding = reader.string('encoding')
    is_bigendian = reader.number('B', 'is_bigendian')
    step = reader.number('I', 'step')
    size = reader.number('I', 'data length')
    data = reader.raw(size, 'data')
    return SerializedImage(header, height, width, encoding, is_bigendian, step, data)
