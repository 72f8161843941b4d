"""Parameter schema of the viewer node: where it serves, what it shows, at what rates."""

from __future__ import annotations

from jetson_edge_common.params import ParamSpec

VIEWER = [
    ParamSpec('host', '127.0.0.1', 'Address the Foxglove WebSocket server binds (0.0.0.0: every interface, to '
              'view a robot from a laptop; the protocol has no authentication)', read_only=True),
    ParamSpec('port', 8765, 'TCP port of the server (8765: Foxglove\'s default; 0: any free port, logged)',
              min_value=0, max_value=65535, read_only=True),
    ParamSpec('image_topics', ['camera/image_raw', 'perception/overlay'], 'sensor_msgs/Image topics, '
              'served as foxglove.CompressedImage (JPEG) on the same topic names', read_only=True),
    ParamSpec('detection_topics', ['perception/detections'], 'vision_msgs/Detection2DArray topics, served '
              'as foxglove.ImageAnnotations stamped like their source frame', read_only=True),
    ParamSpec('cloud_topics', ['lidar/points'], 'sensor_msgs/PointCloud2 topics, served as '
              'foxglove.PointCloud', read_only=True),
    ParamSpec('imu_topics', ['imu/data'], 'sensor_msgs/Imu topics, served as JSON', read_only=True),
    ParamSpec('diagnostics_topics', ['/diagnostics', '/diagnostics_agg'], 'diagnostic_msgs/DiagnosticArray '
              'topics, served as JSON under their ROS type name (Foxglove\'s Diagnostics panels)',
              read_only=True),
    ParamSpec('timing_topics', ['rt/timing'], 'jetson_edge_msgs/LoopTiming topics, served as JSON',
              read_only=True),
    ParamSpec('image_max_hz', 5.0, 'Rate cap of each image topic (the JPEG encoding is the viewer\'s main cost)',
              min_value=0.0, max_value=120.0, read_only=True),
    ParamSpec('detection_max_hz', 30.0, 'Rate cap of each detection topic', min_value=0.0, max_value=1000.0,
              read_only=True),
    ParamSpec('cloud_max_hz', 10.0, 'Rate cap of each point cloud topic', min_value=0.0, max_value=100.0,
              read_only=True),
    ParamSpec('imu_max_hz', 20.0, 'Rate cap of each IMU topic (enough for plots; JSON costs per message)', min_value=0.0, max_value=1000.0, read_only=True),
    ParamSpec('diagnostics_max_hz', 50.0, 'Rate cap of each diagnostics topic (every node publishes on it)',
              min_value=0.0, max_value=1000.0, read_only=True),
    ParamSpec('timing_max_hz', 10.0, 'Rate cap of each loop timing topic', min_value=0.0, max_value=1000.0,
              read_only=True),
    ParamSpec('jpeg_quality', 75, 'JPEG quality of the served images', min_value=1, max_value=100,
              read_only=True),
    ParamSpec('client_backlog', 64, 'Messages queued per client at most; a client that stops reading loses its '
              'oldest ones (the SDK\'s message_backlog_size)', min_value=4, max_value=4096, read_only=True),
    ParamSpec('diagnostics_period_s', 1.0, 'Period of /diagnostics', min_value=0.1, max_value=10.0,
              read_only=True),
]
