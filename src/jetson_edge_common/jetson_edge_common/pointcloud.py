"""sensor_msgs/PointCloud2 <-> numpy structured arrays."""

from __future__ import annotations

import sys

import numpy as np

from .byte_fields import message_with_bytes

# PointField datatype codes (sensor_msgs/PointField) and their numpy types.
_TO_NUMPY = {1: np.int8, 2: np.uint8, 3: np.int16, 4: np.uint16,
             5: np.int32, 6: np.uint32, 7: np.float32, 8: np.float64}
_FROM_NUMPY = {np.dtype(v): k for k, v in _TO_NUMPY.items()}


class CloudFormatError(ValueError):
    """The PointCloud2 layout cannot be represented (unknown datatype, short data)."""


def padded_dtype(dtype: np.dtype, *, multiple: int = 16) -> np.dtype:
    """``dtype`` with its item size rounded up to ``multiple`` bytes (aligned point_step)."""
    size = -(-dtype.itemsize // multiple) * multiple
    return np.dtype({'names': list(dtype.names), 'formats': [dtype.fields[n][0] for n in dtype.names],
                     'offsets': [dtype.fields[n][1] for n in dtype.names], 'itemsize': size})


def points_to_cloud(points: np.ndarray, header=None, *, dense: bool = True):
    """Packs a 1-D structured array into an unordered PointCloud2 (height 1), one copy."""
    from sensor_msgs.msg import PointCloud2, PointField

    if points.dtype.names is None or points.ndim != 1:
        raise CloudFormatError('points must be a 1-D structured array')
    fields = []
    for name in points.dtype.names:
        ftype, offset = points.dtype.fields[name][:2]
        count = 1
        if ftype.subdtype is not None:
            ftype, shape = ftype.subdtype
            count = int(np.prod(shape))
        code = _FROM_NUMPY.get(np.dtype(ftype).newbyteorder('='))
        if code is None:
            raise CloudFormatError(f'field {name!r} has unsupported type {ftype}')
        fields.append(PointField(name=name, offset=offset, datatype=code, count=count))
    width = int(points.shape[0])
    return message_with_bytes(
        PointCloud2, np.ascontiguousarray(points).data.cast('B'), header=header, height=1,
        width=width, fields=fields, is_bigendian=sys.byteorder == 'big',
        point_step=points.dtype.itemsize, row_step=points.dtype.itemsize * width, is_dense=dense)


def cloud_dtype(msg) -> np.dtype:
    """The structured dtype a PointCloud2's fields and point_step describe."""
    names, formats, offsets = [], [], []
    order = '>' if msg.is_bigendian else '<'
    for f in msg.fields:
        base = _TO_NUMPY.get(f.datatype)
        if base is None:
            raise CloudFormatError(f'field {f.name!r} has unknown datatype {f.datatype}')
        dt = np.dtype(base).newbyteorder(order)
        names.append(f.name)
        formats.append(dt if f.count <= 1 else (dt, (f.count,)))
        offsets.append(f.offset)
    return np.dtype({'names': names, 'formats': formats, 'offsets': offsets,
                     'itemsize': msg.point_step})


def cloud_to_points(msg) -> np.ndarray:
    """A structured view (no copy) of the cloud's points, flattened to 1-D."""
    dtype = cloud_dtype(msg)
    count = int(msg.width) * int(msg.height)
    buf = np.frombuffer(msg.data, dtype=np.uint8)
    if msg.row_step != msg.point_step * msg.width:
        raise CloudFormatError('row padding (row_step != point_step * width) is not supported')
    if buf.size < count * msg.point_step:
        raise CloudFormatError(f'data holds {buf.size} bytes, {count} points need '
                               f'{count * msg.point_step}')
    return buf[:count * msg.point_step].view(dtype)
