"""``velodyne_node``: Velodyne packets (UDP or pcap replay) in, ``lidar/points`` out.

Thin wiring only: parameters from :mod:`.params`, a receive thread running
:class:`~jetson_edge_lidar.driver.LidarDriver`, PointCloud2 publishing with the sensor-data
QoS, and the :class:`~jetson_edge_lidar.health.LidarHealth` verdict on ``/diagnostics``.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from builtin_interfaces.msg import Time
from rclpy.exceptions import InvalidParameterValueException
from rclpy.node import Node
from sensor_msgs.msg import PointCloud2
from std_msgs.msg import Header

from jetson_edge_common import qos
from jetson_edge_common.diagnostics import DiagnosticsPublisher, guard_threads, Level, Status
from jetson_edge_common.node_main import run
from jetson_edge_common.params import declare_parameters, on_parameter_change
from jetson_edge_common.pointcloud import points_to_cloud

from .config import DecoderConfig
from .decoder import VelodyneDecoder
from .driver import LidarDriver
from .errors import LidarError
from .health import LidarHealth
from .input_stats import InputStats
from .models import model_by_name, return_mode_by_name
from .params import VELODYNE_NODE
from .scan import Scan
from .sources import PacketSource, PcapSource, UdpSource

#: How long the receive thread waits for packets before checking for shutdown.
_POLL_S = 0.1


class VelodyneNode(Node):
    def __init__(self, **node_options) -> None:
        super().__init__('velodyne', **node_options)
        p = declare_parameters(self, VELODYNE_NODE)
        on_parameter_change(self, VELODYNE_NODE, lambda name, value: None)
        self._frame_id = p['frame_id']
        stats = InputStats(log=self.get_logger().warning)
        decoder = VelodyneDecoder(DecoderConfig(
            model=p['model'], return_mode=p['return_mode'], min_range=p['min_range'],
            max_range=p['max_range'] or None, min_azimuth=p['min_azimuth'],
            max_azimuth=p['max_azimuth'], cut_angle=p['cut_angle'],
            stamp_source=p['stamp_source'], rpm=p['rpm'],
            resync_packets=p['resync_packets']), stats=stats)
        source = self._open_source(p, stats)
        self._driver = LidarDriver(source, decoder)
        self._health = LidarHealth(
            source=source.description, rpm=p['rpm'],
            model=None if p['model'] == 'auto' else model_by_name(p['model']),
            return_mode=(None if p['return_mode'] == 'auto'
                         else return_mode_by_name(p['return_mode'])),
            stale_after_periods=p['stale_after_periods'])
        self._publisher = self.create_publisher(PointCloud2, p['points_topic'],
                                                qos.SENSOR_STREAM)
        diagnostics = DiagnosticsPublisher(
            self, hardware_id=f'velodyne {p["model"]} @ {source.description}',
            period_s=p['diagnostics_period_s'])
        diagnostics.add('lidar', self._status)
        self._guard = guard_threads(self, diagnostics)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, name='velodyne-receive',
                                        daemon=True)
        self._thread.start()
        self.get_logger().info(
            f'reading {source.description}, publishing {self._publisher.topic_name} in frame '
            f'{self._frame_id!r} (Fast DDS profile: '
            f'{os.environ.get("FASTRTPS_DEFAULT_PROFILES_FILE", "default")})')

    def _open_source(self, p: dict, stats: InputStats) -> PacketSource:
        if p['pcap']:
            return PcapSource(p['pcap'], rate=p['replay_rate'], loop=p['replay_loop'],
                              port=p['port'], stats=stats)
        source = UdpSource(port=p['port'], address=p['address'], sensor_ip=p['sensor_ip'],
                           rcvbuf_bytes=p['rcvbuf_bytes'],
                           batch_window_s=p['batch_window_s'], stats=stats)
        if source.rcvbuf_warning:
            self.get_logger().warning(source.rcvbuf_warning)
        return source

    def _receive(self) -> None:
        # Runs outside the executor: socket reads never wait behind callbacks, and
        # rclpy publishers may be used from any thread.
        while not self._stop.is_set():
            for scan in self._driver.poll(_POLL_S):
                self._publish(scan)

    def _publish(self, scan: Scan) -> None:
        seconds = int(scan.stamp)
        header = Header(stamp=Time(sec=seconds, nanosec=int((scan.stamp - seconds) * 1e9)),
                        frame_id=self._frame_id)
        self._publisher.publish(points_to_cloud(scan.points, header))

    def _status(self) -> Status:
        decoder = self._driver.decoder
        health = self._health.evaluate(decoder.stats.snapshot(), model=decoder.model,
                                       return_mode=decoder.return_mode,
                                       finished=self._driver.finished)
        return Status(Level(int(health.level)), health.message, health.values)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._driver.close()


def main(args: list[str] | None = None) -> int:
    try:
        return run(VelodyneNode, args)
    except (LidarError, ValueError, InvalidParameterValueException) as exc:
        print(f'velodyne_node: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
