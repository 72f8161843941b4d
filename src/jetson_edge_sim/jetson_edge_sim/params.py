"""Parameter schemas of the sim's nodes: the virtual Velodyne, the IMU emulator and the thermal
model (declared once here; setup.py registers them for the profile checks)."""

from __future__ import annotations

from jetson_edge_common.params import ParamSpec
from jetson_edge_lidar.models import MODELS
from jetson_edge_lidar.sources import DEFAULT_PORT
from jetson_edge_power.params import LAYOUT_FILE_HELP

_SENSOR_MODELS = tuple(m.name for m in MODELS)

VIRTUAL_VELODYNE = [
    ParamSpec('host', '127.0.0.1', 'Where to send the packets (the driver\'s address).'),
    ParamSpec('port', DEFAULT_PORT, 'UDP port of the driver.', min_value=1, max_value=65535),
    ParamSpec('model', 'VLP-16', 'Model to simulate.', choices=_SENSOR_MODELS),
    ParamSpec('return_mode', 'strongest', 'Return mode to simulate.',
              choices=('strongest', 'last', 'dual')),
    ParamSpec('rpm', 600, 'Motor speed to simulate.', min_value=300, max_value=1200),
    ParamSpec('height_m', 1.6, 'Sensor height above the floor (a humanoid\'s head).',
              min_value=0.2, max_value=2.7),
]

IMU_EMULATOR = [
    ParamSpec('link_path', '/tmp/jetson_edge_imu.pty', 'Stable symlink to the emulator\'s pty '
              'slave; the driver\'s port parameter.', read_only=True),
    ParamSpec('rate_hz', 100.0, 'Output data rate of the emulated BNO055 (the real one: 100 Hz '
              'fusion).', min_value=1.0, max_value=5000.0, read_only=True),
    ParamSpec('gyro_bias', [0.01, -0.008, 0.004], 'Injected gyro bias (rad/s) in raw modes.',
              read_only=True),
    ParamSpec('mount_rpy', [0.0, 0.0, 0.0], 'Sensor orientation in the body frame (rad).',
              read_only=True),
    ParamSpec('still_s', 3.0, 'Seconds standing still before walking starts.', min_value=0.0,
              max_value=3600.0, read_only=True),
    ParamSpec('intensity', 1.0, 'Scale of the walking motion.', min_value=0.0, max_value=3.0,
              read_only=True),
    ParamSpec('seed', 1, 'Noise seed.', min_value=0, max_value=2**31 - 1, read_only=True),
    ParamSpec('fault_garbage', 0.0, 'Probability of garbage bytes before a response.',
              min_value=0.0, max_value=1.0, read_only=True),
    ParamSpec('fault_bad_header', 0.0, 'Probability of a wrong response header.', min_value=0.0,
              max_value=1.0, read_only=True),
    ParamSpec('fault_truncate', 0.0, 'Probability of a cut-short response.', min_value=0.0,
              max_value=1.0, read_only=True),
    ParamSpec('fault_insert', 0.0, 'Probability of an inserted byte.', min_value=0.0,
              max_value=1.0, read_only=True),
]

THERMAL_MODEL = [
    ParamSpec('layout_file', '', LAYOUT_FILE_HELP + ' (the model writes its tree in it)',
              read_only=True),
    ParamSpec('sysfs_root', '/tmp/jetson_edge_sim', 'Directory the model writes its tree to',
              read_only=True),
    ParamSpec('step_period_s', 0.1, 'Wall-clock period of a model step', min_value=0.01,
              max_value=10.0, read_only=True),
    ParamSpec('time_scale', 1.0, 'Model seconds per wall second (speeds a demo up)',
              min_value=0.1, max_value=100.0, dynamic=True),
    ParamSpec('ambient_c', 35.0, 'Air temperature around the module', min_value=-20.0,
              max_value=60.0, dynamic=True),
    ParamSpec('initial_c', 45.0, 'Temperature at start', min_value=-20.0, max_value=100.0,
              read_only=True),
    ParamSpec('cpu_load', -1.0, 'CPU load 0..1 heating the model (-1: this machine\'s real '
              'load through psutil)', min_value=-1.0, max_value=1.0, dynamic=True),
    ParamSpec('detections_topic', 'perception/detections', 'Perception output whose message '
              'rate is the inference rate heating the model (empty: use inference_rate_hz)',
              read_only=True),
    ParamSpec('inference_rate_hz', 30.0, 'Inference rate when no detections topic is used',
              min_value=0.0, max_value=1000.0, dynamic=True),
    ParamSpec('noise_c', 0.3, 'Gaussian noise on each zone reading', min_value=0.0,
              max_value=10.0, read_only=True),
]
