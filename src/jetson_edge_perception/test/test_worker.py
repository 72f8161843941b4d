"""The perception worker without ROS: zero-copy intake, latest-frame-wins, run-time settings, load failure."""

import array
import threading
import time
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from jetson_edge_common.diagnostics import Level
from jetson_edge_perception.backends import BackendOptions
from jetson_edge_perception.worker import PerceptionWorker, WorkerConfig


def _config(models_dir, **kwargs):
    base = dict(detection_card='ssd_mobilenet_v2_coco_onnx', segmentation_card='selfie_segmentation_onnx',
                backend_order=('onnxruntime',), options=BackendOptions(search_dirs=(str(models_dir),)))
    base.update(kwargs)
    return WorkerConfig(**base)


class Collector:
    def __init__(self):
        self.results = []
        self.event = threading.Event()

    def __call__(self, job, result):
        self.results.append((job, result))
        self.event.set()

    def wait(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        while len(self.results) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(self.results) >= count


def _msg(image, frame_id='camera', *, stamp_ns=0):
    """A bgr8 image message's fields, data in rclpy's own type for uint8[] (no ROS import in core tests)."""
    data = array.array('B', image.tobytes())
    stamp = SimpleNamespace(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    return SimpleNamespace(header=SimpleNamespace(stamp=stamp, frame_id=frame_id), encoding='bgr8',
                           height=image.shape[0], width=image.shape[1], step=image.shape[1] * 3, is_bigendian=0,
                           data=data)


def _wait_ready(worker, timeout=30):
    deadline = time.monotonic() + timeout
    while worker.state == 'loading' and time.monotonic() < deadline:
        time.sleep(0.01)
    return worker.state


def test_frames_flow_without_copy_and_results_match(models_dir, images_dir):
    out = Collector()
    worker = PerceptionWorker(_config(models_dir), publish=out, log=lambda _: None)
    worker.start()
    try:
        assert _wait_ready(worker) == 'ready'
        msg = _msg(cv2.imread(str(images_dir / 'person.jpg')))
        assert worker.offer(msg) is None
        assert out.wait(1)
        job, result = out.results[0]
        assert job.message is msg
        assert np.shares_memory(job.image, np.frombuffer(msg.data, np.uint8))  # no pixel copy
        labels = sorted(worker.models[0].card.label(int(c)) for c in result.detections.class_ids)
        assert labels == ['dog', 'horse', 'person']
        assert result.mask.shape == (424, 640) and result.overlay is None
        level, message, values = worker.status()
        assert level == Level.OK and 'onnxruntime' in values['detection_backend'] and values['frames_processed'] == 1
    finally:
        worker.close()


def test_serialized_frames_are_read_in_place_and_their_age_measured(models_dir, images_dir):
    serialization = pytest.importorskip('rclpy.serialization', reason='ROS 2 Python packages not importable')
    from jetson_edge_common.image import ndarray_to_image
    out = Collector()
    worker = PerceptionWorker(_config(models_dir, segmentation_card=''), publish=out, log=lambda _: None)
    worker.start()
    try:
        assert _wait_ready(worker) == 'ready'
        msg = ndarray_to_image(cv2.imread(str(images_dir / 'person.jpg')), 'bgr8')
        msg.header.frame_id, msg.header.stamp.sec, msg.header.stamp.nanosec = 'front_camera', 100, 250_000_000
        serialized = serialization.serialize_message(msg)  # what a raw subscription hands the node
        assert worker.offer(serialized, now_ns=100_300_000_000) is None
        assert out.wait(1)
        job, result = out.results[0]
        assert job.message.header.frame_id == 'front_camera' and job.message.header.stamp.nanosec == 250_000_000
        assert np.shares_memory(job.image, np.frombuffer(serialized, np.uint8))  # no deserialization, no copy
        assert sorted(worker.models[0].card.label(int(c)) for c in result.detections.class_ids) == \
            ['dog', 'horse', 'person']
        values = worker.status()[2]
        assert values['input_age_p50_ms'] == pytest.approx(50.0)
        assert values['handoff_p50_ms'] >= 0 and values['publish_p50_ms'] >= 0
        assert worker.offer(serialized[:100]) is not None and worker.drops.snapshot() == {'data': 1}
    finally:
        worker.close()


def test_run_time_settings_and_overlay(models_dir, images_dir):
    out = Collector()
    worker = PerceptionWorker(_config(models_dir, segmentation_card=''), publish=out, log=lambda _: None)
    worker.set_detection_settings(class_filter=['dog'])  # before load: resolved against the card's labels at load
    worker.start()
    try:
        assert _wait_ready(worker) == 'ready'
        msg = _msg(cv2.imread(str(images_dir / 'dog.jpg')))
        worker.offer(msg)
        assert out.wait(1)
        assert out.results[0][1].detections.class_ids.tolist() == [18]
        worker.set_detection_settings(class_filter=[], score_threshold=0.9)
        worker.overlay = True
        worker.offer(msg)
        assert out.wait(2)
        result = out.results[1][1]
        assert result.detections.class_ids.tolist() == [2]  # only the bicycle scores over 0.9
        assert result.overlay.shape == (576, 768, 3)
        with pytest.raises(ValueError, match='not a label'):
            worker.set_detection_settings(class_filter=['unicorn'])
    finally:
        worker.close()


def test_latest_frame_wins_and_bad_frames_and_rate_are_counted(models_dir, images_dir):
    out = Collector()
    worker = PerceptionWorker(_config(models_dir, segmentation_card=''), publish=out, log=lambda _: None)
    image = cv2.imread(str(images_dir / 'dog.jpg'))
    for i in range(5):  # before the worker runs: only the newest survives
        worker.offer(_msg(image, f'frame{i}'))
    short = _msg(np.zeros((10, 10, 3), np.uint8))
    short.data = b'short'
    bad = worker.offer(short)
    assert bad is not None and bad.reason == 'short_data'
    worker.start()
    try:
        assert out.wait(1)
        time.sleep(0.3)
        assert [job.message.header.frame_id for job, _ in out.results] == ['frame4']
        drops = worker.drops.snapshot()
        assert drops == {'stale': 4, 'short_data': 1}
        worker.set_max_rate(1.0)
        worker.offer(_msg(image))
        worker.offer(_msg(image))
        assert worker.drops.snapshot()['rate'] == 1
    finally:
        worker.close()


def test_model_load_failure_is_an_error_state_not_a_crash(tmp_path, images_dir):
    logs = []
    worker = PerceptionWorker(WorkerConfig(detection_card='ssd_mobilenet_v2_coco_onnx', backend_order=('onnxruntime',),
                                           options=BackendOptions(search_dirs=(str(tmp_path),))),
                              publish=lambda *a: None, log=logs.append)
    worker.start()
    try:
        assert _wait_ready(worker) == 'error'
        level, message, _ = worker.status()
        assert level == Level.ERROR and 'ssd_mobilenet_v2_coco_raw.onnx not found' in message
        worker.offer(_msg(cv2.imread(str(images_dir / 'dog.jpg'))))
        assert worker.drops.snapshot() == {'no_model': 1}
    finally:
        worker.close()


def test_wrong_task_and_no_model(models_dir):
    worker = PerceptionWorker(_config(models_dir, detection_card='selfie_segmentation_onnx', segmentation_card=''),
                              publish=lambda *a: None, log=lambda _: None)
    worker.start()
    assert _wait_ready(worker) == 'error' and 'is a segmentation model' in worker.message
    worker.close()
    empty = PerceptionWorker(WorkerConfig(), publish=lambda *a: None, log=lambda _: None)
    empty.start()
    assert _wait_ready(empty) == 'error' and 'no model configured' in empty.message
    empty.close()


def test_load_level_scales_perceptions_own_rate(images_dir):
    """The power manager asks for a load level; the rate it scales is perception's max_rate_hz."""
    now = [0.0]
    worker = PerceptionWorker(WorkerConfig(), publish=lambda *a: None, log=lambda _: None,
                              clock=lambda: now[0])
    image = cv2.imread(str(images_dir / 'dog.jpg'))
    assert worker.set_max_rate(10.0) is None
    assert worker.set_load_level(0.25) is None      # 2.5 Hz: one frame per 0.4 s
    for step in range(40):                          # 2 s of frames at 20 Hz
        now[0] = step * 0.05
        worker.offer(_msg(image))
    assert worker.drops.snapshot()['rate'] == 40 - 5
    assert worker.status()[2]['load_level'] == 0.25
    assert 'no rate to scale' in worker.set_max_rate(0.0)
    worker.close()


def test_cameras_of_different_sizes_share_the_model_and_a_silent_one_is_counted(models_dir, images_dir):
    out = Collector()
    worker = PerceptionWorker(_config(models_dir, segmentation_card='', cameras=('front', 'left', 'wrist'),
                                      batch_wait_fraction=0.25), publish=out, log=lambda _: None)
    person = cv2.imread(str(images_dir / 'person.jpg'))
    dog = cv2.imread(str(images_dir / 'dog.jpg'))
    worker.start()
    try:
        assert _wait_ready(worker) == 'ready'
        # front changes resolution mid-stream (full size, then half); the wrist camera never sends
        for i, frame in enumerate([person, person, cv2.resize(person, None, fx=0.5, fy=0.5)]):
            out.results.clear()
            worker.offer(_msg(frame, 'front'), camera=0)
            worker.offer(_msg(dog, 'left'), camera=1)
            assert out.wait(2)
            by_camera = {job.camera: (job, result) for job, result in out.results}
            assert set(by_camera) == {0, 1}
            front_job, front = by_camera[0]
            assert front_job.message.header.frame_id == 'front'
            person_box = front.detections.boxes[front.detections.class_ids == 1][0]  # COCO-91: 1 person, 18 dog
            scale = frame.shape[1] / person.shape[1]  # boxes in the pixels of the frame as it came
            np.testing.assert_allclose(person_box, np.array([186, 100, 271, 373]) * scale, atol=12 * scale)
            assert 18 in by_camera[1][1].detections.class_ids  # the dog
        level, _, values = worker.status()
        assert values['cameras'] == 3 and values['detection_batching'] == 'fixed batch: one call per image'
        wrist = worker.camera_status(2)
        assert wrist['silent'] is True and wrist['batches_without_silent'] >= 3 and wrist['frames_processed'] == 0
        front = worker.camera_status(0)
        assert front['frames_processed'] == 3 and front['batches_without_silent'] == 0
    finally:
        worker.close()
