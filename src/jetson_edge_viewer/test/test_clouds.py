"""Point clouds keep their bytes: the Foxglove PointCloud decodes to the same points."""

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from foxglove.messages import PointCloud
from std_msgs.msg import Header

from jetson_edge_common.pointcloud import padded_dtype, points_to_cloud
from jetson_edge_viewer.clouds import to_point_cloud
from jetson_edge_viewer.errors import ConversionError
from jetson_edge_viewer.testing import protobuf_decoder

DECODE = protobuf_decoder('foxglove.PointCloud', PointCloud.get_schema().data)
LIDAR = padded_dtype(np.dtype([('x', '<f4'), ('y', '<f4'), ('z', '<f4'), ('intensity', '<f4'),
                                ('ring', '<u2'), ('time', '<f4')]))


def cloud(n: int):
    rng = np.random.default_rng(1)
    points = np.zeros(n, LIDAR)
    for name in ('x', 'y', 'z', 'intensity', 'time'):
        points[name] = rng.uniform(-10, 10, n)
    points['ring'] = np.arange(n) % 16
    return points, points_to_cloud(points, Header(stamp=Time(sec=7, nanosec=8), frame_id='velodyne'))


def test_points_decode_to_the_same_values():
    points, msg = cloud(1000)
    out = DECODE(to_point_cloud(msg).encode())
    assert out.frame_id == 'velodyne' and (out.timestamp.seconds, out.timestamp.nanos) == (7, 8)
    assert out.point_stride == LIDAR.itemsize
    fields = {f.name: (f.offset, f.type) for f in out.fields}
    assert fields['x'] == (0, 7) and fields['ring'][1] == 3  # FLOAT32, UINT16
    assert out.pose.orientation.w == 1.0
    decoded = np.frombuffer(out.data, LIDAR)
    assert len(decoded) == 1000
    np.testing.assert_array_equal(decoded, points)


def test_cloud_without_xyz_is_a_counted_reason():
    _, msg = cloud(4)
    msg.fields = [f for f in msg.fields if f.name != 'z']
    with pytest.raises(ConversionError) as err:
        to_point_cloud(msg)
    assert err.value.reason == 'fields'


def test_short_data_is_a_counted_reason():
    _, msg = cloud(4)
    msg.data = msg.data[:10]
    with pytest.raises(ConversionError) as err:
        to_point_cloud(msg)
    assert err.value.reason == 'short_data'
