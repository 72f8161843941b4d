"""System tests: the sim profile's emulated BNO055 (its own process, on a pty) and the sim_spi
variant's MPU-9250 on the emulated SPI link reach another process as sensor_msgs/Imu and
sensor_msgs/MagneticField over real DDS through the production driver node."""

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


def test_sim_spi_imu_publishes_the_magnetic_field_over_dds(start_suite):
    """The sim_spi variant: an MPU-9250 on the emulated SPI link, its AK8963 through the aux
    master, published as sensor_msgs/MagneticField in tesla on imu/mag."""
    suite = start_suite(profile='sim_spi', only=['imu'])
    mag = probe('imu/mag', 'sensor_msgs/msg/MagneticField', seconds=2.0, qos='sensor', keep=1)
    assert suite.alive(), suite.output()[-3000:]
    assert 60 < mag['rate_hz'] < 140, mag  # the AK8963's 100 Hz
    text = mag['messages'][0]['repr']
    assert "frame_id='imu_link'" in text
    f = re.search(r'magnetic_field=geometry_msgs.msg.Vector3\(x=([-\d.e]+), y=([-\d.e]+), '
                  r'z=([-\d.e]+)\)', text)
    norm = sum(float(f.group(i)) ** 2 for i in (1, 2, 3)) ** 0.5
    assert 40e-6 < norm < 56e-6, text  # the emulated 48 uT Earth field, in tesla
    diag = probe('/diagnostics', 'diagnostic_msgs/msg/DiagnosticArray', seconds=2.5)
    statuses = {s['name']: s for m in diag['messages'] for s in m['status']}
    imu = statuses['imu: imu']
    assert imu['values']['link'].startswith('connected to mpu9250 over spi'), imu
    assert imu['values']['magnetometer'].startswith('AK8963 via master'), imu
