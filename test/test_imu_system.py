"""System test: the sim profile's emulated BNO055 (its own process, on a pty) reaches another
process as sensor_msgs/Imu over real DDS through the production driver node."""

import re

from system_helpers import probe


def test_sim_imu_publishes_over_dds(start_suite):
    suite = start_suite(profile='sim', only=['imu_emulator', 'imu'])
    data = probe('imu/data', 'sensor_msgs/msg/Imu', seconds=3.0, qos='sensor',
                 keep=1)
    assert suite.alive(), suite.output()[-3000:]
    assert data['count'] > 200, data
    assert 80 < data['rate_hz'] < 120, data  # the emulated device's 100 Hz
    text = data['messages'][0]['repr']
    assert "frame_id='imu_link'" in text
    q = re.search(r'orientation=geometry_msgs.msg.Quaternion\(x=([-\d.e]+), y=([-\d.e]+), '
                  r'z=([-\d.e]+), w=([-\d.e]+)\)', text)
    w, x, y, z = (float(q.group(i)) for i in (4, 1, 2, 3))
    assert abs(w * w + x * x + y * y + z * z - 1) < 0.01  # a real orientation

    raw = probe('imu/data_raw', 'sensor_msgs/msg/Imu', seconds=1.0, qos='sensor',
                keep=1)
    assert raw['count'] > 50
    assert 'orientation_covariance=array([-1.' in raw['messages'][0]['repr']

    diag = probe('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray', seconds=2.5)
    statuses = {s['name']: s for m in diag['messages'] for s in m['status']}
    imu = statuses.get('imu: imu')
    assert imu is not None, sorted(statuses)
    assert imu['values']['link'].startswith('connected to bno055 over uart')
    assert int(imu['values']['published']) > 0
    assert imu['level'] == 0, imu
