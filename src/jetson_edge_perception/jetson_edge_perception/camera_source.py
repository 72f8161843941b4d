"""Frame sources for the camera node: image files, video files, V4L2 devices, GStreamer pipelines, jetson_utils.

`open_source(spec)` picks the source from a string, the one parameter a user sets:

| spec | source |
|---|---|
| a directory, `a.jpg,b.png`, a glob `imgs/*.jpg`, one image file | `ImageListSource` (sorted, loops if asked) |
| `assets:photos`, `assets:photos/*.png` | the photos `jetson-edge assets fetch` put in the asset cache, all or a glob (the sim profile) |
| `video.mp4` (any existing non-image file) | `VideoCaptureSource` on the file (loops by seeking back) |
| `/dev/video0`, `v4l2:///dev/video0`, `0` | `VideoCaptureSource` with CAP_V4L2 |
| `gst:<pipeline>` or any string with ` ! ` | `VideoCaptureSource` with CAP_GSTREAMER (must end in appsink) |
| `csi://0` | jetson_utils.videoSource where it imports, else the nvarguscamerasrc pipeline |
| `jetson:<uri>` | jetson_utils.videoSource(uri) (rtsp://, file://, csi://, v4l2://, ...) |

Every source returns `Frame`s with a uint8 (H, W, 3) image and its encoding, or None at the end.
"""

from __future__ import annotations

import glob
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

import cv2
import numpy as np
import yaml

from .errors import SourceError

_LOG = logging.getLogger(__name__)
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif', '.tiff', '.webp')


@dataclass(frozen=True)
class Frame:
    """One captured frame. `image` is (H, W, 3) uint8 in `encoding` (bgr8 from OpenCV, rgb8 from jetson_utils)."""

    image: np.ndarray
    encoding: str
    index: int
    name: str = ''


class FrameSource(Protocol):
    description: str

    def read(self) -> Frame | None:
        """The next frame, or None when the source is exhausted (never None while looping)."""

    def close(self) -> None: ...


class ImageListSource:
    """Still images played in order; unreadable files are skipped and counted in `skipped`."""

    def __init__(self, paths: Sequence[Path], *, loop: bool = True) -> None:
        if not paths:
            raise SourceError('image source has no files')
        self.paths = list(paths)
        self.loop = loop
        self.skipped: list[Path] = []
        self._cache: dict[Path, np.ndarray] = {}
        self._next = 0
        self._count = 0
        self.description = f'{len(self.paths)} images from {self.paths[0].parent}'

    def read(self) -> Frame | None:
        for _ in range(len(self.paths) * 2):
            if self._next >= len(self.paths):
                if not self.loop:
                    return None
                self._next = 0
            path = self.paths[self._next]
            self._next += 1
            image = self._cache.get(path)
            if image is None:
                image = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if image is None:
                    if path not in self.skipped:
                        self.skipped.append(path)
                    continue
                self._cache[path] = image
            self._count += 1
            return Frame(image, 'bgr8', self._count - 1, path.name)
        raise SourceError(f'none of the {len(self.paths)} image files can be decoded (first: {self.paths[0]})')

    def close(self) -> None:
        self._cache.clear()


class VideoCaptureSource:
    """cv2.VideoCapture over a file, a V4L2 device or a GStreamer pipeline."""

    def __init__(self, target: str | int, *, api: int = cv2.CAP_ANY, loop: bool = False, is_file: bool = False,
                 width: int = 0, height: int = 0, fps: float = 0.0) -> None:
        self.capture = cv2.VideoCapture(target, api)
        if not self.capture.isOpened():
            hint = ''
            if api == cv2.CAP_GSTREAMER and not gstreamer_available():
                hint = ' (this OpenCV is built without GStreamer: use the distribution OpenCV on the Jetson)'
            raise SourceError(f'cannot open video source {target!r}{hint}')
        for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, width), (cv2.CAP_PROP_FRAME_HEIGHT, height),
                            (cv2.CAP_PROP_FPS, fps)):
            if value and not is_file:
                self.capture.set(prop, value)
        self.loop = loop and is_file
        self._count = 0
        self.description = f'video {target}'

    def read(self) -> Frame | None:
        ok, image = self.capture.read()
        if not ok and self.loop and self._count:
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self.capture.read()
        if not ok or image is None:
            return None
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        self._count += 1
        return Frame(image, 'bgr8', self._count - 1)

    def close(self) -> None:
        self.capture.release()


class JetsonUtilsSource:
    """jetson_utils.videoSource (CSI through libargus, V4L2, RTSP, files) returning rgb8 frames.

    `Capture` returns None when no frame came within its timeout; `read` keeps trying while the
    stream is up, counting each timeout (`capture_timeouts`) and reporting the gap through `log`.
    """

    def __init__(self, uri: str, *, argv: Sequence[str] = (), timeout_ms: int = 1000,
                 log: Callable[[str], None] = _LOG.warning) -> None:
        utils = import_jetson_utils()
        self._utils = utils
        try:
            self._source = utils.videoSource(uri, argv=list(argv))
        except Exception as exc:  # jetson_utils raises plain Exception
            raise SourceError(f'jetson_utils cannot open {uri}: {exc}') from exc
        self._count = 0
        self._timeout_ms = timeout_ms
        self._log = log
        self.capture_timeouts = 0
        self.longest_gap_s = 0.0
        self.description = f'jetson_utils {uri}'

    def read(self) -> Frame | None:
        gap_start = time.monotonic()
        missed = 0
        while (image := self._source.Capture(timeout=self._timeout_ms)) is None:
            if not self._source.IsStreaming():
                return None
            missed += 1
            self.capture_timeouts += 1
            self._log(f'{self.description}: no frame for {time.monotonic() - gap_start:.1f} s '
                      f'({missed} capture timeouts of {self._timeout_ms} ms); still trying')
        if missed:
            gap = time.monotonic() - gap_start
            self.longest_gap_s = max(self.longest_gap_s, gap)
            self._log(f'{self.description}: frames again after a {gap:.1f} s gap ({missed} capture timeouts)')
        self._utils.cudaDeviceSynchronize()
        array = np.array(self._utils.cudaToNumpy(image), copy=True)[..., :3]
        self._count += 1
        return Frame(array, 'rgb8', self._count - 1)

    def close(self) -> None:
        self._source.Close()


def import_jetson_utils() -> object:
    try:
        import jetson_utils
    except ImportError:
        try:
            import jetson.utils as jetson_utils  # type: ignore[no-redef]
        except ImportError as exc:
            raise SourceError(f'jetson_utils is not installed: {exc} (it comes with jetson-inference on a Jetson)') from exc
    return jetson_utils


def gstreamer_available() -> bool:
    """Whether this OpenCV build has the GStreamer video I/O backend."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith('GStreamer:'):
            return 'YES' in line
    return False


def nvargus_pipeline(*, sensor_id: int = 0, capture_width: int = 1920, capture_height: int = 1080, fps: int = 30,
                     flip: int = 0, width: int = 0, height: int = 0) -> str:
    """A GStreamer pipeline for a CSI camera on a Jetson (libargus), ending in a BGR appsink."""
    out_w, out_h = width or capture_width, height or capture_height
    return (f'nvarguscamerasrc sensor-id={sensor_id} ! '
            f'video/x-raw(memory:NVMM),width={capture_width},height={capture_height},framerate={fps}/1,format=NV12 ! '
            f'nvvidconv flip-method={flip} ! video/x-raw,width={out_w},height={out_h},format=BGRx ! '
            f'videoconvert ! video/x-raw,format=BGR ! appsink drop=true max-buffers=1 sync=false')


def _image_paths(spec: str) -> list[Path] | None:
    path = Path(spec)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if ',' in spec:
        return [Path(p.strip()) for p in spec.split(',') if p.strip()]
    if any(ch in spec for ch in '*?['):
        return [Path(p) for p in sorted(glob.glob(spec)) if Path(p).suffix.lower() in IMAGE_SUFFIXES]
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return [path]
    return None


def open_source(spec: str, *, loop: bool = True, width: int = 0, height: int = 0, fps: float = 0.0,
                assets_dir: Path | None = None) -> FrameSource:
    """Open the source a spec string names (see the module docstring)."""
    spec = spec.strip()
    if not spec:
        raise SourceError('empty source: give a directory, image/video file, /dev/videoN, gst: pipeline or csi://N')
    if spec.startswith('assets:'):
        from .assets import default_cache_dir
        target = (assets_dir or default_cache_dir()) / spec[len('assets:'):]
        paths = _image_paths(str(target))
        if not paths:
            raise SourceError(f'{target} names no images; run `jetson-edge assets fetch` first')
        return ImageListSource(paths, loop=loop)
    if spec.startswith('jetson:'):
        return JetsonUtilsSource(spec[len('jetson:'):])
    if spec.startswith('csi://'):
        try:
            return JetsonUtilsSource(spec)
        except SourceError:
            sensor = int(spec[len('csi://'):] or 0)
            pipeline = nvargus_pipeline(sensor_id=sensor, fps=int(fps or 30), width=width, height=height)
            return VideoCaptureSource(pipeline, api=cv2.CAP_GSTREAMER)
    if spec.startswith('gst:') or ' ! ' in spec:
        return VideoCaptureSource(spec[len('gst:'):] if spec.startswith('gst:') else spec, api=cv2.CAP_GSTREAMER)
    if spec.startswith('v4l2://') or spec.startswith('/dev/video') or spec.isdigit():
        device = spec[len('v4l2://'):] if spec.startswith('v4l2://') else spec
        target: str | int = int(device) if device.isdigit() else device
        return VideoCaptureSource(target, api=cv2.CAP_V4L2, width=width, height=height, fps=fps)
    paths = _image_paths(spec)
    if paths is not None:
        if not paths:
            raise SourceError(f'{spec} matches no image files ({", ".join(IMAGE_SUFFIXES)})')
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise SourceError(f'image file {missing[0]} does not exist')
        return ImageListSource(paths, loop=loop)
    if Path(spec).is_file():
        return VideoCaptureSource(spec, loop=loop, is_file=True)
    raise SourceError(f'{spec!r} is not a directory, image or video file, device, pipeline or csi:// URI')


def resize_frame(image: np.ndarray, *, width: int = 0, height: int = 0) -> np.ndarray:
    """Resize to width x height; with only one of them set, keep the aspect ratio; 0 and 0 is no resize."""
    src_h, src_w = image.shape[:2]
    if not width and not height:
        return image
    if not height:
        height = max(1, round(src_h * width / src_w))
    if not width:
        width = max(1, round(src_w * height / src_h))
    if (width, height) == (src_w, src_h):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if width < src_w else cv2.INTER_LINEAR)


class FramePacer:
    """Ticks at `rate_hz` on a monotonic schedule (no drift); if it falls behind by a period it resyncs."""

    def __init__(self, rate_hz: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.period = 1.0 / rate_hz if rate_hz > 0 else 0.0
        self._clock, self._sleep = clock, sleep
        self._next: float | None = None
        self.late_ticks = 0

    def wait(self) -> None:
        if self.period == 0.0:
            return
        now = self._clock()
        if self._next is None:
            self._next = now
        delay = self._next - now
        if delay > 0:
            self._sleep(delay)
        elif -delay > self.period:
            self.late_ticks += 1
            self._next = now
        self._next += self.period


@dataclass(frozen=True)
class CameraCalibration:
    """A ROS camera_calibration YAML (camera_calibration_parsers format)."""

    width: int
    height: int
    camera_name: str
    k: tuple[float, ...]
    d: tuple[float, ...]
    r: tuple[float, ...]
    p: tuple[float, ...]
    distortion_model: str

    def scaled(self, width: int, height: int) -> 'CameraCalibration':
        """The calibration for the image resized to width x height (K and P scaled per axis)."""
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = width / self.width, height / self.height
        k = list(self.k)
        k[0] *= sx; k[2] *= sx; k[4] *= sy; k[5] *= sy  # noqa: E702 (fx, cx, fy, cy)
        p = list(self.p)
        p[0] *= sx; p[2] *= sx; p[3] *= sx; p[5] *= sy; p[6] *= sy  # noqa: E702 (fx, cx, Tx, fy, cy)
        return CameraCalibration(width, height, self.camera_name, tuple(k), self.d, self.r, tuple(p),
                                 self.distortion_model)


def load_calibration(path: Path) -> CameraCalibration:
    """Parse a camera calibration YAML; errors name the file and the key."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding='utf-8'))
    except (OSError, yaml.YAMLError) as exc:
        raise SourceError(f'{path}: cannot read camera calibration: {exc}') from exc
    if not isinstance(data, dict):
        raise SourceError(f'{path}: camera calibration must be a mapping')

    def matrix(key: str, size: int, default: Sequence[float] | None = None) -> tuple[float, ...]:
        entry = data.get(key)
        if entry is None and default is not None:
            return tuple(default)
        values = entry.get('data') if isinstance(entry, dict) else None
        if not isinstance(values, list) or (size and len(values) != size):
            raise SourceError(f'{path}: {key}.data must be a list of {size or "any number of"} numbers')
        return tuple(float(v) for v in values)

    try:
        width, height = int(data['image_width']), int(data['image_height'])
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(f'{path}: image_width and image_height are required integers') from exc
    k = matrix('camera_matrix', 9)
    return CameraCalibration(
        width=width, height=height, camera_name=str(data.get('camera_name', 'camera')), k=k,
        d=matrix('distortion_coefficients', 0, ()), r=matrix('rectification_matrix', 9, (1, 0, 0, 0, 1, 0, 0, 0, 1)),
        p=matrix('projection_matrix', 12, (k[0], k[1], k[2], 0.0, k[3], k[4], k[5], 0.0, k[6], k[7], k[8], 0.0)),
        distortion_model=str(data.get('distortion_model', 'plumb_bob')))
