"""Parameter schemas of the LiDAR nodes (declared once, checked by profiles too)."""

from __future__ import annotations

from jetson_edge_common.params import ParamSpec

from .models import MODEL_CHOICES, RETURN_MODE_CHOICES, MODELS
from .sources import DEFAULT_BATCH_WINDOW_S, DEFAULT_PORT, DEFAULT_RCVBUF_BYTES

_RATED_RANGES = ', '.join(f'{m.name} {m.max_range_m:g} m' for m in MODELS)

VELODYNE_NODE = [
    ParamSpec('model', 'auto', 'Velodyne model; "auto" reads it from every packet\'s factory '
              'byte, a name makes packets from any other model count as mismatches.',
              choices=MODEL_CHOICES),
    ParamSpec('return_mode', 'auto', 'Return mode the sensor is configured for; "auto" '
              'follows the packets.', choices=RETURN_MODE_CHOICES),
    ParamSpec('rpm', 600, 'Motor speed configured on the sensor: sets how '
              'far the azimuth advances per packet (packets that do not continue the '
              'sequence are dropped as out_of_sequence) and the expected scan rate in '
              'diagnostics.', min_value=300, max_value=1200),
    ParamSpec('resync_packets', 8, 'Consecutive packets that continue '
              'each other needed to re-anchor the azimuth sequence (start-up, sensor '
              'restart, a gap of more than a few packets); they are passed on, late, not '
              'lost.', min_value=2, max_value=64),
    ParamSpec('address', '0.0.0.0', 'Local address to bind the UDP socket to.'),
    ParamSpec('port', DEFAULT_PORT, 'UDP port the sensor sends data packets to.',
              min_value=1, max_value=65535),
    ParamSpec('sensor_ip', '', 'Accept packets only from this sender address ("" = any).'),
    ParamSpec('rcvbuf_bytes', DEFAULT_RCVBUF_BYTES, 'Socket receive buffer to request; the '
              'kernel caps it at net.core.rmem_max.', min_value=65536, max_value=1 << 28),
    ParamSpec('batch_window_s', DEFAULT_BATCH_WINDOW_S, 'While packets flow, the longest '
              'they queue in the socket before a read takes them all. Reads are also timed to '
              'land just after the packet that completes each scan (so a scan leaves within '
              'about 2 ms of it) and never wait longer than half of what the socket buffer '
              'holds: fewer wake-ups, less CPU; stamps keep the kernel\'s arrival times. 0 = '
              'read every packet as it comes.', min_value=0.0, max_value=0.2),
    ParamSpec('pcap', '', 'Replay this capture instead of listening on the socket.'),
    ParamSpec('replay_rate', 1.0, 'Replay speed relative to the recording; 0 = as fast as '
              'possible.', min_value=0.0, max_value=100.0),
    ParamSpec('replay_loop', False, 'Start the capture over when it ends.'),
    ParamSpec('cut_angle', 0.0, 'Azimuth (degrees, clockwise from forward) where one scan '
              'ends and the next begins; must be below 360.', min_value=0.0,
              max_value=359.99),
    ParamSpec('min_range', 0.4, 'Drop returns closer than this (metres).', min_value=0.0,
              max_value=300.0),
    ParamSpec('max_range', 0.0, 'Drop returns farther than this (metres); 0 = the model\'s '
              f'rated range ({_RATED_RANGES}; with model "auto" the detected one\'s). A value '
              'above the rated range is refused.', min_value=0.0,
              max_value=max(m.max_range_m for m in MODELS)),
    ParamSpec('min_azimuth', 0.0, 'Keep azimuths from here (degrees) ...', min_value=0.0,
              max_value=360.0),
    ParamSpec('max_azimuth', 360.0, '... to here; wraps through 0 when smaller than '
              'min_azimuth.', min_value=0.0, max_value=360.0),
    ParamSpec('stamp_source', 'host', 'Cloud stamps from "host" receive time, or "device": '
              'the packets\' top-of-hour time joined to the host clock (use with a GPS/PPS-'
              'synchronized sensor).', choices=('host', 'device')),
    ParamSpec('frame_id', 'velodyne', 'frame_id of the published clouds.'),
    ParamSpec('points_topic', 'lidar/points', 'Published scans (sensor_msgs/PointCloud2, '
              'sensor-data QoS).'),
    ParamSpec('diagnostics_period_s', 1.0, 'Diagnostics publishing period.', min_value=0.1,
              max_value=60.0),
    ParamSpec('stale_after_periods', 10, 'Report ERROR when no packet arrived for this many '
              'input periods, one period being a rotation (60/rpm s: 10 is 1 s at 600 rpm).',
              min_value=1, max_value=600),
]
