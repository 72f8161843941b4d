"""The camera source node: frames from files, devices, pipelines or jetson_utils onto `camera/image_raw`.

Thin: the source, pacing, resize and calibration are `camera_source`; this node declares the
parameters, publishes Image (and CameraInfo when a calibration file is given, with the same header)
on a timer at `rate_hz`, and reports on /diagnostics. A source that cannot be opened leaves the
node up in ERROR, saying why. With `frame_ring_slots`, each frame also goes into a shared-memory
ring (`frame_ring`) announced by a FrameSlot message, and Image only while someone subscribes to it.
"""

from __future__ import annotations

import os
from pathlib import Path

from jetson_edge_common import qos
from jetson_edge_common.diagnostics import DiagnosticsPublisher, guard_threads, Status
from jetson_edge_common.image import ndarray_to_image
from jetson_edge_common.node_main import run
from jetson_edge_common.params import declare_parameters, on_parameter_change
from jetson_edge_common.stats import RateMeter
from jetson_edge_msgs.msg import FrameSlot
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from .camera_source import CameraCalibration, FrameSource, load_calibration, open_source, resize_frame
from .errors import SourceError
from .frame_ring import FrameRingWriter, remove_stale_rings, slot_topic
from .params import CAMERA_SOURCE


def camera_info(calibration: CameraCalibration, header: object) -> CameraInfo:
    info = CameraInfo(header=header)
    info.width, info.height = calibration.width, calibration.height
    info.distortion_model = calibration.distortion_model
    info.k, info.d, info.r, info.p = list(calibration.k), list(calibration.d), list(calibration.r), list(calibration.p)
    return info


class CameraSourceNode(Node):
    def __init__(self, **node_options) -> None:
        super().__init__('camera_source', **node_options)
        p = self.params = declare_parameters(self, CAMERA_SOURCE)
        self._ring: FrameRingWriter | None = None
        if p['frame_ring_slots']:  # announced before Image: perception takes Image without FrameSlot as no ring
            owner = f'jetson_edge_{self.get_name()}'
            for name in remove_stale_rings(owner):
                self.get_logger().info(f'removed frame ring {name} of a camera process that ended')
            self._ring = FrameRingWriter(f'{owner}_{os.getpid()}', slots=p['frame_ring_slots'])
            self._slot_pub = self.create_publisher(FrameSlot, slot_topic(p['image_topic']), qos.SENSOR_STREAM)
        self._image_pub = self.create_publisher(Image, p['image_topic'], qos.SENSOR_STREAM)
        self._info_pub = self.create_publisher(CameraInfo, p['camera_info_topic'], qos.SENSOR_STREAM)
        self._rate = RateMeter(5.0)
        self._images_sent = 0
        self._source: FrameSource | None = None
        self._calibration: CameraCalibration | None = None
        self._problem = ''
        self._ended = False
        try:
            if p['calibration_file']:
                self._calibration = load_calibration(Path(p['calibration_file']))
            self._source = open_source(p['source'], loop=p['loop'], width=p['width'], height=p['height'],
                                       fps=p['rate_hz'])
            self.get_logger().info(f'publishing {self._source.description} on {p["image_topic"]} at {p["rate_hz"]} Hz')
        except SourceError as exc:
            self._problem = str(exc)
            self.get_logger().error(self._problem)
        self._timer = self.create_timer(self._period(p['rate_hz']), self._tick)
        on_parameter_change(self, CAMERA_SOURCE, self._apply)
        diagnostics = DiagnosticsPublisher(self, hardware_id=p['source'], period_s=p['diagnostics_period_s'])
        diagnostics.add('source', self._status)
        self._guard = guard_threads(self, diagnostics)

    @staticmethod
    def _period(rate_hz: float) -> float:
        return 1.0 / rate_hz if rate_hz > 0 else 0.001

    def _apply(self, name: str, value: object) -> None:
        if name == 'rate_hz':
            self._timer.cancel()
            self.destroy_timer(self._timer)
            self._timer = self.create_timer(self._period(float(value)), self._tick)

    def _tick(self) -> None:
        if self._source is None or self._ended:
            return
        try:
            frame = self._source.read()
        except SourceError as exc:
            self._problem = str(exc)
            self.get_logger().error(self._problem)
            self._source = None
            return
        if frame is None:
            self._ended = True
            self.get_logger().info('source ended (loop is off)')
            return
        image = resize_frame(frame.image, width=self.params['width'], height=self.params['height'])
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.params['frame_id'])
        if self._ring is not None:
            try:
                ref = self._ring.write(image, frame.encoding)
            except OSError as exc:  # /dev/shm full or missing: Image messages carry on alone
                self._problem = f'frame ring given up, publishing Image only: {exc}'
                self.get_logger().error(self._problem)
                self._ring.close()
                self._ring = None
            else:
                self._slot_pub.publish(FrameSlot(header=header, ring=ref.ring, slot=ref.slot, sequence=ref.sequence))
        if self._ring is None or self._image_pub.get_subscription_count() > 0:
            self._image_pub.publish(ndarray_to_image(image, frame.encoding, header=header))
            self._images_sent += 1
        if self._calibration is not None:
            self._info_pub.publish(camera_info(self._calibration.scaled(image.shape[1], image.shape[0]), header))
        self._rate.tick()

    def _status(self) -> Status:
        values = {'rate_hz': round(self._rate.rate(), 2), 'frames': self._rate.total,
                  'source': self._source.description if self._source else 'none', 'images_sent': self._images_sent}
        if self._ring is not None:
            values.update(frame_ring=self._ring.name or 'none yet',
                          image_subscribers=self._image_pub.get_subscription_count())
        if hasattr(self._source, 'capture_timeouts'):  # jetson_utils: capture timeouts and the longest gap
            values.update(capture_timeouts=self._source.capture_timeouts,
                          longest_gap_s=round(self._source.longest_gap_s, 2))
        if self._problem:
            return Status.error(self._problem, **values)
        if self._ended:
            return Status.warn('source ended', **values)
        return Status.ok('publishing', **values)

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
        if self._ring is not None:
            self._ring.close()


def main(args: list[str] | None = None) -> int:
    return run(CameraSourceNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
