"""The perception node: images of one or more cameras in; per camera detections (vision_msgs), class
mask, depth and optional overlay out.

Thin: parameters from `params.PERCEPTION`, the cameras' topics from `camera_topics`, QoS presets
from jetson_edge_common, and the `worker.PerceptionWorker` doing the work (batched across cameras)
in its own thread. Each subscription keeps only the newest image (sensor-data QoS, depth 1) and the
worker drops what it cannot keep up with, counting it. With `frame_ring`, a camera's frames come
from its camera source's shared-memory ring (FrameSlot messages on `<image topic>/shm`); a camera
whose ring cannot be opened here falls back to its Image topic.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

from jetson_edge_common import qos
from jetson_edge_common.diagnostics import DiagnosticsPublisher, Level, Status, guard_threads
from jetson_edge_common.image import ndarray_to_image
from jetson_edge_common.node_main import run
from jetson_edge_common.params import declare_parameters, on_parameter_change
from jetson_edge_common.staleness import PeriodicInput
from jetson_edge_common.throttle import Throttled
from builtin_interfaces.msg import Time
from jetson_edge_msgs.msg import FrameSlot
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import (BoundingBox2D, Detection2D, Detection2DArray, ObjectHypothesis, ObjectHypothesisWithPose,
                             Point2D, Pose2D)

from .backends import BackendOptions
from .camera_topics import CameraSpec, camera_specs
from .labelled_boxes import LabelledBox, labelled_boxes
from .errors import FrameError
from .frame_ring import FrameRingReader, SlotRef, slot_topic
from .frames import FrameLimits
from .input_health import with_input_staleness
from .memory import return_large_blocks_to_system
from .params import PERCEPTION
from .worker import FrameJob, FrameResult, PerceptionWorker, WorkerConfig

RING_CHECK_PERIOD_S = 1.0  # how often a camera read through its ring is checked for having one


def cameras_of(p: dict) -> list[CameraSpec]:
    return camera_specs(p['camera_names'], p['camera_topics'], image_topic=p['image_topic'],
                        outputs={'detections': p['detections_topic'], 'segmentation': p['segmentation_topic'],
                                 'depth': p['depth_topic'], 'overlay': p['overlay_topic']})


def worker_config(p: dict, cameras: list[CameraSpec]) -> WorkerConfig:
    """Parameters -> worker configuration (pure; the profile's TensorRT and provider choices)."""
    options = BackendOptions(
        onnxruntime_providers=tuple(p['onnxruntime_providers']) or ('CPUExecutionProvider',),
        intra_op_threads=p['intra_op_threads'], precision=p['precision'], workspace_mb=p['workspace_mb'],
        dla_core=p['dla_core'], engine_cache_dir=Path(p['engine_cache_dir']) if p['engine_cache_dir'] else None,
        search_dirs=tuple(p['model_path']),
        extra={'calibration_images': p['calibration_images']} if p['calibration_images'] else {})
    return WorkerConfig(detection_card=p['detection_model'], segmentation_card=p['segmentation_model'],
                        depth_card=p['depth_model'], backend_order=tuple(p['backends']), options=options,
                        background_build=p['background_engine_build'],
                        frame_limits=FrameLimits(max_pixels=p['max_frame_pixels'], max_bytes=p['max_frame_bytes']),
                        cameras=tuple(c.label for c in cameras), max_batch=p['max_batch'],
                        batch_wait_fraction=p['batch_wait_fraction'],
                        silent_after_periods=float(p['stale_after_periods']))


_DEPTH_CADENCE = {'depth_enabled': 'enabled', 'depth_every_n_frames': 'every_n', 'depth_max_rate_hz': 'max_rate_hz',
                  'depth_resolution': 'resolution'}


def detection_array(header: Header, boxes: list[LabelledBox]) -> Detection2DArray:
    """The message of one frame's detections; each detection repeats the frame's header, as
    vision_msgs asks, and has one hypothesis (the label as class id) and no pose."""
    return Detection2DArray(header=header, detections=[
        Detection2D(header=header, results=[
                        ObjectHypothesisWithPose(hypothesis=ObjectHypothesis(class_id=box.label, score=box.score))],
                    bbox=BoundingBox2D(center=Pose2D(position=Point2D(x=box.center_x, y=box.center_y)),
                                       size_x=box.size_x, size_y=box.size_y))
        for box in boxes])


class PerceptionNode(Node):
    def __init__(self) -> None:
        super().__init__('perception')
        p = declare_parameters(self, PERCEPTION)
        log = self.get_logger()
        self._bound_memory()
        self._warn_bad_frame = Throttled(log.warning, 5.0)
        try:
            self.cameras = cameras_of(p)
        except ValueError as exc:
            raise SystemExit(f'perception: {exc}') from exc
        self.worker = PerceptionWorker(worker_config(p, self.cameras), publish=self._publish, log=log.info)
        self.worker.overlay = p['publish_overlay']
        self.worker.set_depth(enabled=p['depth_enabled'], every_n=p['depth_every_n_frames'],
                              max_rate_hz=p['depth_max_rate_hz'], resolution=p['depth_resolution'])
        self._warn_if(self.worker.set_max_rate(p['max_rate_hz'], load_level=p['load_level']))
        self.worker.set_detection_settings(score_threshold=p['score_threshold'], max_detections=p['max_detections'],
                                           class_filter=p['class_filter'])
        on_parameter_change(self, PERCEPTION, self._apply)
        self._camera_outputs = [{
            'detections': self.create_publisher(Detection2DArray, camera.outputs['detections'], qos.RELIABLE_STREAM),
            'segmentation': self.create_publisher(Image, camera.outputs['segmentation'], qos.SENSOR_STREAM),
            'depth': self.create_publisher(Image, camera.outputs['depth'], qos.SENSOR_STREAM),
            'overlay': self.create_publisher(Image, camera.outputs['overlay'], qos.SENSOR_STREAM),
        } for camera in self.cameras]
        self._raw_intake = p['raw_image_intake']
        self._stale_after = p['stale_after_periods']
        self._inputs: list[PeriodicInput] = []
        self._rings: list[FrameRingReader | None] = []
        self._slot_subscriptions: dict[int, object] = {}
        self._fallbacks: dict[int, str] = {}  # camera -> why it reads Image instead of its ring
        for index, camera in enumerate(self.cameras):
            if p['frame_ring']:
                topic = slot_topic(camera.image_topic)
                self._inputs.append(PeriodicInput(f'frame slots on {topic}', stale_after_periods=self._stale_after))
                self._rings.append(FrameRingReader(max_bytes=p['max_frame_bytes']))
                self._slot_subscriptions[index] = self.create_subscription(
                    FrameSlot, topic, partial(self._on_slot, index), qos.SENSOR_LATEST)
            else:
                self._rings.append(None)
                self._subscribe_images(index)
        if self._slot_subscriptions:
            self._no_slot_publisher: set[int] = set()
            self._ring_check = self.create_timer(RING_CHECK_PERIOD_S, self._check_ring_publishers)
        self._diagnostics = DiagnosticsPublisher(self, hardware_id='perception', period_s=p['diagnostics_period_s'])
        self._diagnostics.add('inference', self._status)
        if len(self.cameras) > 1:
            for index, camera in enumerate(self.cameras):
                self._diagnostics.add(f'camera {camera.name}', partial(self._camera_status, index))
        self._guard = guard_threads(self, self._diagnostics)
        self.worker.start()

    def _bound_memory(self) -> None:
        ok, message = return_large_blocks_to_system()
        (self.get_logger().info if ok else self.get_logger().warning)(message)

    def _apply(self, name: str, value: object) -> None:
        if name == 'score_threshold':
            self.worker.set_detection_settings(score_threshold=float(value))
        elif name == 'max_detections':
            self.worker.set_detection_settings(max_detections=int(value))
        elif name == 'class_filter':
            try:
                self.worker.set_detection_settings(class_filter=list(value))
            except ValueError as exc:
                self.get_logger().error(f'class_filter not applied: {exc}')
        elif name == 'max_rate_hz':
            self._warn_if(self.worker.set_max_rate(float(value)))
        elif name == 'load_level':
            self._warn_if(self.worker.set_load_level(float(value)))
        elif name == 'publish_overlay':
            self.worker.overlay = bool(value)
        elif name in _DEPTH_CADENCE:
            self.worker.set_depth(**{_DEPTH_CADENCE[name]: value})

    def _warn_if(self, problem: str | None) -> None:
        if problem:
            self.get_logger().warning(problem)

    def _subscribe_images(self, camera: int) -> None:
        topic = self.cameras[camera].image_topic
        if camera < len(self._inputs):
            self._inputs[camera] = PeriodicInput(f'image on {topic}', stale_after_periods=self._stale_after)
        else:
            self._inputs.append(PeriodicInput(f'image on {topic}', stale_after_periods=self._stale_after))
        self.create_subscription(Image, topic, partial(self._on_image, camera), qos.SENSOR_LATEST,
                                 raw=self._raw_intake)

    def _on_slot(self, camera: int, msg: FrameSlot) -> None:
        if camera in self._fallbacks:  # a slot message already in flight when the camera fell back
            return
        self._inputs[camera].arrived()
        try:
            frame = self._rings[camera].read(SlotRef(msg.ring, msg.slot, msg.sequence), stamp=msg.header.stamp,
                                             frame_id=msg.header.frame_id)
        except FrameError as exc:
            self.worker.reject(camera, exc)
            self._warn_bad_frame(f'dropped frame of {self.cameras[camera].label} ({exc.reason}): {exc}')
            if exc.reason == 'ring_missing' and not self._rings[camera].frames_read:  # else: replaced, not elsewhere
                self._fall_back(camera, str(exc))
            return
        self._offer(camera, frame)

    def _check_ring_publishers(self) -> None:
        """A camera whose image topic has publishers but whose FrameSlot topic has none, at two checks
        in a row, has no ring (a camera source without one, a bag being played): read its Image topic."""
        for camera in list(self._slot_subscriptions):
            image_topic = self.cameras[camera].image_topic
            if self.count_publishers(slot_topic(image_topic)) or not self.count_publishers(image_topic):
                self._no_slot_publisher.discard(camera)
            elif camera in self._no_slot_publisher:
                self._fall_back(camera, f'{image_topic} has publishers, {slot_topic(image_topic)} none')
            else:
                self._no_slot_publisher.add(camera)

    def _fall_back(self, camera: int, why: str) -> None:
        self._fallbacks[camera] = why
        self.destroy_subscription(self._slot_subscriptions.pop(camera))
        self._rings[camera].close()
        self._subscribe_images(camera)
        self.get_logger().warning(f'{self.cameras[camera].label}: {why}; reading {self.cameras[camera].image_topic} '
                                  'instead')

    def _on_image(self, camera: int, msg: Image | bytes) -> None:
        self._inputs[camera].arrived()
        self._offer(camera, msg)

    def _offer(self, camera: int, msg: object) -> None:
        bad = self.worker.offer(msg, now_ns=self.get_clock().now().nanoseconds, camera=camera)
        if bad is not None:
            self._warn_bad_frame(f'dropped image of {self.cameras[camera].label} ({bad.reason}): {bad}')
            return
        # Give up the GIL now: the woken worker starts on the frame at once instead of waiting
        # for the executor's own bookkeeping (0.08 ms hand-off instead of 0.4 here).
        time.sleep(0)

    def _publish(self, job: FrameJob, result: FrameResult) -> None:
        source = job.message.header
        header = Header(stamp=Time(sec=source.stamp.sec, nanosec=source.stamp.nanosec), frame_id=source.frame_id)
        publishers = self._camera_outputs[job.camera]
        if result.detections is not None:
            model = next(m for m in self.worker.models if m.role == 'detection')
            publishers['detections'].publish(
                detection_array(header, labelled_boxes(result.detections, model.card.label)))
        if result.mask is not None:
            publishers['segmentation'].publish(ndarray_to_image(result.mask, 'mono8', header=header))
        if result.depth is not None:
            publishers['depth'].publish(ndarray_to_image(result.depth.values, '32FC1', header=header))
        if result.overlay is not None:
            publishers['overlay'].publish(ndarray_to_image(result.overlay, 'bgr8', header=header))

    def _status(self) -> Status:
        level, message, values = self.worker.status()
        values['frame_input'] = ', '.join(self._input_kind(i) for i in range(len(self.cameras)))
        status = with_input_staleness(Status(level, message, values), self._inputs)
        if self._fallbacks and status.level < Level.WARN:
            return Status(Level.WARN, '; '.join(f'{self.cameras[i].label} reads Image, no frame ring: {why}'
                                                for i, why in self._fallbacks.items()), status.values)
        return status

    def _input_kind(self, camera: int) -> str:
        if self._rings[camera] is None:
            return 'image'
        return 'image (ring missing)' if camera in self._fallbacks else 'frame ring'

    def _camera_status(self, camera: int) -> Status:
        values = self.worker.camera_status(camera)
        values['image_topic'] = self.cameras[camera].image_topic
        return with_input_staleness(Status(Level.OK, 'receiving', values), [self._inputs[camera]])

    def close(self) -> None:
        self.worker.close()
        for ring in self._rings:
            if ring is not None:
                ring.close()


def main(args: list[str] | None = None) -> int:
    return run(PerceptionNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
