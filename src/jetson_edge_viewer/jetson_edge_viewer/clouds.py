"""sensor_msgs/PointCloud2 -> foxglove.PointCloud.

The points' bytes pass through unchanged: Foxglove's PointCloud describes packed points by
stride and field offsets just as PointCloud2 does, so only the field table is translated.
Fields with a count other than 1 are left out (Foxglove has no arrays in a point).
"""

from __future__ import annotations

from foxglove.messages import PackedElementField, PackedElementFieldNumericType, PointCloud, Pose, Quaternion, Vector3

from .errors import ConversionError
from .stamps import foxglove_stamp

# sensor_msgs/PointField datatype -> Foxglove numeric type
_TYPES = {
    1: PackedElementFieldNumericType.Int8, 2: PackedElementFieldNumericType.Uint8,
    3: PackedElementFieldNumericType.Int16, 4: PackedElementFieldNumericType.Uint16,
    5: PackedElementFieldNumericType.Int32, 6: PackedElementFieldNumericType.Uint32,
    7: PackedElementFieldNumericType.Float32, 8: PackedElementFieldNumericType.Float64,
}
_IDENTITY = Pose(position=Vector3(x=0.0, y=0.0, z=0.0), orientation=Quaternion(x=0.0, y=0.0, z=0.0, w=1.0))


def to_point_cloud(msg) -> PointCloud:
    if msg.is_bigendian:
        raise ConversionError('big-endian point clouds are not shown', reason='byte_order')
    fields = [PackedElementField(name=f.name, offset=f.offset, type=_TYPES[f.datatype])
              for f in msg.fields if f.count == 1 and f.datatype in _TYPES]
    if not {'x', 'y', 'z'} <= {f.name for f in msg.fields}:
        raise ConversionError(f'point cloud has no x/y/z fields (fields: '
                              f'{", ".join(f.name for f in msg.fields) or "none"})', reason='fields')
    points = msg.width * msg.height
    row = msg.width * msg.point_step
    if msg.row_step < row:
        raise ConversionError(f'row_step {msg.row_step} is shorter than width * point_step = {row}',
                              reason='row_step')
    data = memoryview(msg.data).cast('B')
    if len(data) < msg.row_step * msg.height:
        raise ConversionError(f'point cloud has {len(data)} bytes, {msg.row_step * msg.height} declared',
                              reason='short_data')
    if msg.row_step == row or msg.height <= 1:
        packed = bytes(data[:points * msg.point_step])
    else:
        packed = b''.join(bytes(data[r * msg.row_step:r * msg.row_step + row]) for r in range(msg.height))
    return PointCloud(timestamp=foxglove_stamp(msg.header.stamp), frame_id=msg.header.frame_id,
                      pose=_IDENTITY, point_stride=msg.point_step, fields=fields, data=packed)
