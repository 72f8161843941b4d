"""``viewer_node``: the suite's topics served over the Foxglove WebSocket protocol.

Thin wiring: a shown topic is subscribed only while a client watches its channel (an idle viewer
costs the robot nothing), raw and best effort (nothing is deserialized before its rate cap admits
it, and no publisher ever waits for the viewer's acknowledgements); the
:class:`~jetson_edge_viewer.forwarder.Forwarder` converts on its own thread and logs to the
:class:`~jetson_edge_viewer.server.ViewerServer`'s channels.
"""

from __future__ import annotations

import sys
from functools import partial

from diagnostic_msgs.msg import DiagnosticArray
from jetson_edge_msgs.msg import LoopTiming
from rclpy.exceptions import InvalidParameterValueException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import Image, Imu, PointCloud2
from vision_msgs.msg import Detection2DArray

from jetson_edge_common.diagnostics import DiagnosticsPublisher, guard_threads
from jetson_edge_common.node_main import run
from jetson_edge_common.params import declare_parameters
from jetson_edge_common.throttle import Throttled
from jetson_edge_viewer.annotations import to_image_annotations
from jetson_edge_viewer.clouds import to_point_cloud
from jetson_edge_viewer.errors import ConversionError, ViewerError
from jetson_edge_viewer.forwarder import Forwarder, Stream
from jetson_edge_viewer.health import ViewerHealth
from jetson_edge_viewer.images import serialized_image, to_compressed_image
from jetson_edge_viewer.params import VIEWER
from jetson_edge_viewer.rate_cap import RateCap
from jetson_edge_viewer.ros_json import json_schema, ros_type_name, to_json_bytes
from jetson_edge_viewer.server import ViewerServer

# Best effort: compatible with reliable and best-effort publishers, and asks no acknowledgements.
_INTAKE = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
_OVERFLOW_REPORT_S = 30.0  # the SDK says a client's outbox overflowed at most every 30 s
_BIND_RETRY_S = 5.0
_FOLLOW_CLIENTS_S = 0.5  # how soon a client's subscription reaches ROS


def _deserialized(cls, raw: bytes):
    try:
        return deserialize_message(raw, cls)
    except Exception as exc:  # rclpy raises plain exceptions for malformed CDR
        raise ConversionError(f'cannot deserialize {cls.__name__}: {exc}', reason='cdr') from exc


class ViewerNode(Node):
    def __init__(self, **node_options) -> None:
        super().__init__('viewer', **node_options)
        p = declare_parameters(self, VIEWER)
        self._server = ViewerServer(name='jetson_edge', host=p['host'], port=p['port'],
                                    backlog=p['client_backlog'])
        warn = Throttled(self.get_logger().warning, 5.0)
        quality = p['jpeg_quality']
        kinds = [  # ROS type, topics, rate cap, channel factory, conversion of the serialized message
            (Image, p['image_topics'], p['image_max_hz'], self._server.image_channel,
             lambda raw: to_compressed_image(serialized_image(raw), jpeg_quality=quality)),
            (Detection2DArray, p['detection_topics'], p['detection_max_hz'], self._server.annotations_channel,
             lambda raw: to_image_annotations(_deserialized(Detection2DArray, raw))),
            (PointCloud2, p['cloud_topics'], p['cloud_max_hz'], self._server.cloud_channel,
             lambda raw: to_point_cloud(_deserialized(PointCloud2, raw))),
        ]
        for cls, topics, max_hz in ((Imu, p['imu_topics'], p['imu_max_hz']),
                                    (DiagnosticArray, p['diagnostics_topics'], p['diagnostics_max_hz']),
                                    (LoopTiming, p['timing_topics'], p['timing_max_hz'])):
            kinds.append((cls, topics, max_hz,
                          partial(self._server.json_channel, type_name=ros_type_name(cls), schema=json_schema(cls)),
                          partial(lambda c, raw: to_json_bytes(_deserialized(c, raw)), cls)))
        streams = []
        self._intake: dict[str, tuple] = {}  # resolved topic -> (type, name as given, ROS subscription or None)
        for cls, topics, max_hz, make_channel, convert in kinds:
            for topic in topics:
                # the subscription resolves the name (remappings, namespace) the channel is called by
                probe = self.create_subscription(cls, topic, lambda raw: None, _INTAKE, raw=True)
                name = probe.topic_name
                self.destroy_subscription(probe)
                self._intake[name] = (cls, topic, None)
                streams.append(Stream(name, convert, make_channel(name), RateCap(max_hz)))
        self._forwarder = Forwarder(streams, warn=warn)
        self.create_timer(_FOLLOW_CLIENTS_S, self._follow_clients)
        self._health = ViewerHealth(self._server.address)
        diagnostics = DiagnosticsPublisher(self, hardware_id='viewer', period_s=p['diagnostics_period_s'])
        diagnostics.add('server', self._status)
        self._guard = guard_threads(self, diagnostics)
        self._forwarder.start()
        self._topics = ', '.join(s.topic for s in streams)
        self._bind_timer = None
        if not self._bind():
            self._bind_timer = self.create_timer(_BIND_RETRY_S, self._bind)

    def _follow_clients(self) -> None:
        """Subscribes each topic a client watches, and unsubscribes it when the last one leaves."""
        for name, stream in self._forwarder.streams.items():
            cls, topic, subscription = self._intake[name]
            watched = stream.channel.has_sinks()
            if watched and subscription is None:
                subscription = self.create_subscription(
                    cls, topic, lambda raw, n=name: self._forwarder.offer(n, raw), _INTAKE, raw=True)
            elif not watched and subscription is not None:
                self.destroy_subscription(subscription)
                subscription = None
            self._intake[name] = (cls, topic, subscription)

    def _bind(self) -> bool:
        if not self._server.start():
            self.get_logger().error(self._server.problem)
            return False
        if self._bind_timer is not None:
            self._bind_timer.cancel()
        self._health.address = self._server.address
        self.get_logger().info(
            f'Foxglove WebSocket on {self._server.address}: {self._topics}; open it in Foxglove or '
            f'Lichtblick (Open connection > Foxglove WebSocket)')
        return True

    def _status(self):
        return self._health.evaluate(self._forwarder.counts(), clients=self._server.clients(),
                                     outbox_overflows=self._server.outbox.count,
                                     recent_overflow=self._server.outbox.recent(_OVERFLOW_REPORT_S),
                                     server_problem=self._server.problem)

    def close(self) -> None:
        self._forwarder.stop()
        self._server.stop()


def main(args: list[str] | None = None) -> int:
    try:
        return run(ViewerNode, args)
    except (ViewerError, ValueError, InvalidParameterValueException) as exc:
        print(f'viewer_node: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
