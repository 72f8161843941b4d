import numpy as np
import pytest

from jetson_edge_common.pointcloud import (CloudFormatError, cloud_to_points, padded_dtype,
                                           points_to_cloud)

LIDAR = np.dtype([('x', np.float32), ('y', np.float32), ('z', np.float32),
                  ('intensity', np.float32), ('ring', np.uint16), ('time', np.float32)])


def test_padded_dtype_rounds_point_step_to_16():
    dt = padded_dtype(LIDAR)
    assert dt.itemsize % 16 == 0 and dt.itemsize >= LIDAR.itemsize
    assert [dt.fields[n][1] for n in ('x', 'y', 'z')] == [0, 4, 8]


def test_round_trip_keeps_fields_offsets_and_values():
    dt = padded_dtype(LIDAR)
    pts = np.zeros(100, dtype=dt)
    rng = np.random.default_rng(0)
    for name in ('x', 'y', 'z', 'intensity', 'time'):
        pts[name] = rng.normal(size=100)
    pts['ring'] = np.arange(100) % 16
    msg = points_to_cloud(pts)
    assert msg.point_step == 32 and msg.width == 100 and msg.height == 1
    assert [(f.name, f.offset) for f in msg.fields][:3] == [('x', 0), ('y', 4), ('z', 8)]
    back = cloud_to_points(msg)
    for name in LIDAR.names:
        np.testing.assert_array_equal(back[name], pts[name])


def test_short_data_is_refused():
    msg = points_to_cloud(np.zeros(4, dtype=padded_dtype(LIDAR)))
    msg.data = msg.data[:-1]
    with pytest.raises(CloudFormatError, match='bytes'):
        cloud_to_points(msg)
