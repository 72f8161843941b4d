"""Camera sources: image lists, a real video file, spec parsing, pacing, resize and calibration files."""

import sys
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from jetson_edge_perception.camera_source import (FramePacer, ImageListSource, JetsonUtilsSource, VideoCaptureSource,
                                                  load_calibration, nvargus_pipeline, open_source, resize_frame)
from jetson_edge_perception.errors import SourceError


def test_directory_source_plays_sorted_and_loops(images_dir):
    source = open_source(str(images_dir), loop=True)
    names = [source.read().name for _ in range(7)]
    assert names[:6] == sorted(names[:6]) and names[6] == names[0]
    frame = source.read()
    assert frame.encoding == 'bgr8' and frame.image.ndim == 3 and frame.index == 7


def test_list_without_loop_ends_and_skips_undecodable(images_dir, tmp_path):
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'junk')
    source = open_source(f'{images_dir / "dog.jpg"},{broken}', loop=False)
    assert source.read().name == 'dog.jpg'
    assert source.read() is None
    assert source.skipped == [broken]
    with pytest.raises(SourceError, match='none of the 1 image files'):
        ImageListSource([broken]).read()


def test_video_file_source_reads_and_loops(tmp_path):
    path = tmp_path / 'clip.avi'
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, (64, 48))
    for i in range(3):
        writer.write(np.full((48, 64, 3), i * 80, np.uint8))
    writer.release()
    source = open_source(str(path), loop=True)
    assert isinstance(source, VideoCaptureSource)
    levels = [int(source.read().image.mean()) for _ in range(5)]
    assert abs(levels[0] - 0) < 5 and abs(levels[2] - 160) < 5 and abs(levels[3] - 0) < 5
    source.close()


@pytest.mark.parametrize('spec, words', [
    ('/dev/video97', 'cannot open video source'),
    ('gst:videotestsrc ! appsink', 'cannot open video source'),
    ('nothing/here.xyz', 'is not a directory'),
    ('', 'empty source'),
    ('jetson:csi://0', 'jetson_utils is not installed'),
])
def test_unopenable_sources_say_why(spec, words):
    with pytest.raises(SourceError, match=words):
        open_source(spec)


def test_assets_source_needs_a_fetch(tmp_path):
    with pytest.raises(SourceError, match='jetson-edge assets fetch'):
        open_source('assets:photos', assets_dir=tmp_path)


def test_nvargus_pipeline_for_csi_cameras():
    pipeline = nvargus_pipeline(sensor_id=1, fps=60, capture_width=1280, capture_height=720, width=640, height=360)
    assert pipeline.startswith('nvarguscamerasrc sensor-id=1 ! video/x-raw(memory:NVMM),width=1280,height=720,framerate=60/1')
    assert 'width=640,height=360,format=BGRx' in pipeline and pipeline.endswith('appsink drop=true max-buffers=1 sync=false')


def test_resize_keeps_aspect_when_one_side_given():
    image = np.zeros((480, 640, 3), np.uint8)
    assert resize_frame(image, width=320).shape == (240, 320, 3)
    assert resize_frame(image, height=120).shape == (120, 160, 3)
    assert resize_frame(image) is image


def test_pacer_holds_rate_without_drift_and_resyncs_when_late():
    now = [0.0]
    sleeps = []

    def sleep(dt):
        sleeps.append(dt)
        now[0] += dt

    pacer = FramePacer(10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        pacer.wait()
        now[0] += 0.03  # work
    assert sleeps == pytest.approx([0.07] * 4)
    now[0] += 1.0
    pacer.wait()
    assert pacer.late_ticks == 1


def test_calibration_file_loads_and_scales(tmp_path):
    path = tmp_path / 'cam.yaml'
    path.write_text(
        'image_width: 640\nimage_height: 480\ncamera_name: front\n'
        'camera_matrix: {rows: 3, cols: 3, data: [500, 0, 320, 0, 500, 240, 0, 0, 1]}\n'
        'distortion_model: plumb_bob\n'
        'distortion_coefficients: {rows: 1, cols: 5, data: [0.1, -0.2, 0, 0, 0]}\n')
    cal = load_calibration(path)
    assert cal.k[0] == 500 and cal.p[2] == 320 and cal.r[0] == 1 and len(cal.d) == 5
    half = cal.scaled(320, 240)
    assert half.k[0] == 250 and half.k[5] == 120 and half.p[0] == 250 and half.p[6] == 120
    path.write_text('image_width: 640\ncamera_matrix: {data: [1, 2]}\n')
    with pytest.raises(SourceError, match='image_height are required'):
        load_calibration(path)


class _FakeVideoSource:
    """jetson_utils.videoSource as it behaves on a stalled camera: Capture returns None on timeout."""

    def __init__(self, script):
        self.script = list(script)  # frames (arrays) and 'timeout's, in order; then the stream ends
        self.timeouts_asked = []

    def Capture(self, timeout):  # noqa: N802 (jetson_utils' names)
        self.timeouts_asked.append(timeout)
        if not self.script:
            return None
        item = self.script.pop(0)
        return None if isinstance(item, str) else item

    def IsStreaming(self):  # noqa: N802
        return bool(self.script)

    def Close(self):  # noqa: N802
        pass


def test_jetson_utils_capture_timeouts_are_retried_counted_and_reported(monkeypatch):
    frame = np.full((4, 6, 4), 7, np.uint8)  # rgba8, as cudaToNumpy maps an rgba capture
    fake = _FakeVideoSource(['timeout'] * 2500 + [frame])  # longer than Python's recursion limit
    utils = SimpleNamespace(videoSource=lambda uri, argv: fake, cudaDeviceSynchronize=lambda: None,
                            cudaToNumpy=lambda image: image)
    monkeypatch.setitem(sys.modules, 'jetson_utils', utils)
    log = []
    source = JetsonUtilsSource('csi://0', log=log.append)
    got = source.read()
    assert got.encoding == 'rgb8' and got.image.shape == (4, 6, 3) and got.index == 0
    assert source.capture_timeouts == 2500 and source.longest_gap_s >= 0
    assert sum('capture timeouts of 1000 ms' in line for line in log) == 2500
    assert 'frames again after' in log[-1] and '(2500 capture timeouts)' in log[-1]
    assert source.read() is None  # stream over: the end, not another wait
