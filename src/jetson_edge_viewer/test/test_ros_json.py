"""IMU, diagnostics and loop timing as JSON under their ROS type names."""

import json

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from jetson_edge_msgs.msg import LoopTiming
from sensor_msgs.msg import Imu

from jetson_edge_viewer.ros_json import json_schema, ros_type_name, to_json_bytes


def test_imu_fields_and_covariances():
    msg = Imu()
    msg.header.frame_id = 'imu_link'
    msg.linear_acceleration.z = 9.81
    msg.orientation.w = 1.0
    out = json.loads(to_json_bytes(msg))
    assert out['header']['frame_id'] == 'imu_link'
    assert out['linear_acceleration']['z'] == 9.81
    assert len(out['orientation_covariance']) == 9
    assert ros_type_name(Imu) == 'sensor_msgs/msg/Imu'


def test_diagnostics_level_is_a_number():
    msg = DiagnosticArray(status=[DiagnosticStatus(level=b'\x01', name='lidar: input', message='slow',
                                                   values=[KeyValue(key='rate_hz', value='7.9')])])
    out = json.loads(to_json_bytes(msg))
    assert out['status'][0]['level'] == 1
    assert out['status'][0]['values'] == [{'key': 'rate_hz', 'value': '7.9'}]
    assert json_schema(DiagnosticArray)['title'] == 'diagnostic_msgs/msg/DiagnosticArray'


def test_loop_timing_with_a_nan_is_valid_json():
    msg = LoopTiming(loop_name='control', cycles=500, wakeup_latency_p99_s=float('nan'))
    out = json.loads(to_json_bytes(msg))
    assert out['cycles'] == 500 and out['wakeup_latency_p99_s'] is None
    assert json_schema(LoopTiming)['properties']['cycles'] == {'type': 'number'}
