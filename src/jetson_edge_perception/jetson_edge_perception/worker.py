"""The perception node's engine room, without ROS: frame intake, the inference thread, health.

`PerceptionWorker.offer` is called from a camera's subscription callback: it checks the frame (bad
ones are counted by reason, per camera), applies the camera's rate limit and puts the frame in that
camera's latest-frame-wins slot, never blocking. The worker thread loads the models (so a slow load
or a TensorRT build never blocks the executor), then takes batches of the cameras' newest frames
(`camera_batch.CameraBatcher`: bounded wait, oldest first, silent cameras not waited for), runs every
model once per batch where its card allows and hands each camera's results to `publish`. One camera
is the batch of one. A model that fails to load leaves the worker in state `error` with the reason;
frames are then counted as dropped and the owner keeps reporting. When TensorRT is the only backend and its engine is not cached,
the worker is in state `building` (a WARN with the elapsed time) until the build ends, then serves.

Depth, the heaviest model, keeps its own cadence (every Nth processed frame, at most its own rate)
and can be switched off and on at run time; switched on for the first time, its model loads in the
worker thread, and a load failure turns depth off with the reason (a WARN) while the other models
keep serving.
"""

from __future__ import annotations

import dataclasses
import gc
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from jetson_edge_common.diagnostics import Level
from jetson_edge_common.stats import LatencyStats, RateMeter

from .backends import BackendOptions
from .camera_batch import CameraBatcher
from .camera_stats import CameraStats
from .depth import RESOLUTIONS, DepthMap
from .errors import FrameError, PerceptionError
from .frames import DropCounter, FrameLimits, ImageLike, read_frame
from .latest import RateLimiter
from .model_card import ModelCard, find_card, load_card
from .overlay import draw_overlay
from .pipeline import DetectionSettings, ModelPipeline, ModelResult, class_ids_for
from .postprocess import Detections
from .preprocess import as_rgb
from .runner import BackgroundBuild, SwitchingRunner, open_runner


@dataclass(frozen=True)
class WorkerConfig:
    detection_card: str = ''
    segmentation_card: str = ''
    depth_card: str = ''
    backend_order: tuple[str, ...] = ()
    options: BackendOptions = field(default_factory=BackendOptions)
    background_build: bool = True
    frame_limits: FrameLimits | None = None  # None: any size
    cameras: tuple[str, ...] = ('',)  # one unnamed camera: the node's own topics
    max_batch: int = 4
    batch_wait_fraction: float = 0.25
    silent_after_periods: float = 10.0


@dataclass
class FrameJob:
    """One accepted frame: the message (its header goes on the results), a zero-copy view on its pixels."""

    message: ImageLike
    image: np.ndarray
    received: float
    camera: int = 0

    @property
    def encoding(self) -> str:
        return self.message.encoding


@dataclass
class FrameResult:
    detections: Detections | None
    mask: np.ndarray | None
    overlay: np.ndarray | None
    results: dict[str, ModelResult]
    latency_s: float
    depth: DepthMap | None = None  # only on the frames depth ran on


@dataclass(frozen=True)
class DepthCadence:
    """When depth runs: switched on, every `every_n`-th processed frame, at most `max_rate_hz` (0: no cap)."""

    enabled: bool = True
    every_n: int = 1
    max_rate_hz: float = 0.0
    resolution: str = 'camera'


class _Model:
    def __init__(self, role: str, card: ModelCard, runner: SwitchingRunner, max_batch: int) -> None:
        self.role, self.card, self.runner = role, card, runner
        self.pipeline = ModelPipeline(card, runner, max_batch=max_batch)
        self.stats = {stage: LatencyStats(500) for stage in ('preprocess', 'inference', 'postprocess')}
        self.batch_sizes = LatencyStats(500)


class PerceptionWorker:
    """Owns the inference thread. Thread contract: `offer`/`status`/setters from any thread; models only in the worker."""

    def __init__(self, config: WorkerConfig, *, publish: Callable[[FrameJob, FrameResult], None],
                 log: Callable[[str], None], clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._publish = publish
        self._log = log
        self._clock = clock
        self._batcher: CameraBatcher[FrameJob] = CameraBatcher(
            len(config.cameras), wait_fraction=config.batch_wait_fraction,
            silent_after_periods=config.silent_after_periods)
        self.cameras = [CameraStats(name, RateLimiter(0.0, clock=clock), clock=clock) for name in config.cameras]
        self._max_rate_hz = 0.0
        self._load_level = 1.0
        self.drops = DropCounter()
        self.received = RateMeter(5.0, clock=clock)
        self.processed = RateMeter(5.0, clock=clock)
        # Where a frame's time goes, for diagnostics and the benchmark's breakdown: age on arrival
        # (header stamp -> callback, i.e. camera + transport), callback -> worker start, results -> published.
        self.input_age = LatencyStats(500)
        self.handoff = LatencyStats(500)
        self.latency = LatencyStats(500)
        self.publish_time = LatencyStats(500)
        self.settings = DetectionSettings()
        self._class_filter: Sequence[str] = ()
        self.overlay = False
        self.depth = DepthCadence()
        # the cadence runs per camera: batches mix cameras as their frames happen to arrive, so a
        # cadence counted in batches could starve one camera of depth for good
        self._depth_limiters = [RateLimiter(0.0, clock=clock) for _ in config.cameras]
        self._depth_countdowns = [0 for _ in config.cameras]
        self._depth_error = ''
        self._last_depth: DepthMap | None = None
        self._camera_depth: dict[int, DepthMap] = {}  # each camera's newest, for its overlay panel
        self.depth_runs = RateMeter(5.0, clock=clock)
        self.depth_invalid_pixels = 0
        self.state = 'loading'
        self.message = 'loading models'
        self.models: list[_Model] = []
        self._building: tuple[str, BackgroundBuild] | None = None  # (model, its build) while state is 'building'
        self._thread = threading.Thread(target=self._run, name='perception-worker', daemon=True)

    # --- any thread ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def offer(self, msg: ImageLike | bytes, *, now_ns: int | None = None, camera: int = 0) -> FrameError | None:
        """Accept a frame of `camera` (its index) unless it is bad, over the rate, or no model serves. Never blocks.

        `msg` is a sensor_msgs/Image (or the like) or its serialized bytes; the job keeps a view on
        its pixels, not a copy. `now_ns` (the caller's clock, ROS time) with the header stamp gives
        the frame's age on arrival for the diagnostics. Returns the FrameError of a bad frame
        (already counted) so the caller can log it, else None.
        """
        cam = self.cameras[camera]
        self.received.tick()
        cam.received.tick()
        try:
            msg, image = read_frame(msg, limits=self.config.frame_limits)
        except FrameError as exc:
            self._drop(cam, exc.reason)
            return exc
        stamp = msg.header.stamp
        stamp_ns = stamp.sec * 1_000_000_000 + stamp.nanosec
        if now_ns is not None and stamp_ns:
            age = (now_ns - stamp_ns) * 1e-9
            self.input_age.add(age)
            cam.input_age.add(age)
        if not cam.limiter.allow():
            self._drop(cam, 'rate')
            return None
        if self.state == 'error':
            self._drop(cam, 'no_model')
            return None
        if self._batcher.put(camera, FrameJob(msg, image, self._clock(), camera)):
            self._drop(cam, 'stale')
        return None

    def reject(self, camera: int, error: FrameError) -> None:
        """Count a frame of `camera` that could not even be read (a torn or missing ring slot) as received and dropped."""
        cam = self.cameras[camera]
        self.received.tick()
        cam.received.tick()
        self._drop(cam, error.reason)

    def _drop(self, cam: CameraStats, reason: str) -> None:
        self.drops.add(reason)
        cam.drops.add(reason)

    def set_detection_settings(self, *, score_threshold: float | None = None, class_filter: Sequence[str] | None = None,
                               max_detections: int | None = None) -> None:
        """Swap the detection settings; a class filter naming an unknown label raises ValueError.

        Before the models are loaded the class filter is kept and resolved against the detector's labels at load.
        """
        current = self.settings
        class_ids = current.class_ids
        if class_filter is not None:
            detector = next((m for m in self.models if m.role == 'detection'), None)
            class_ids = class_ids_for(detector.card, list(class_filter)) if detector else None
            self._class_filter = tuple(class_filter)
        self.settings = DetectionSettings(
            current.score_threshold if score_threshold is None else score_threshold, class_ids,
            current.max_detections if max_detections is None else max_detections)

    def set_depth(self, **changes: object) -> None:
        """Change the depth cadence (fields of `DepthCadence`); switching depth on clears a past load error."""
        cadence = dataclasses.replace(self.depth, **changes)
        if cadence.every_n < 1 or cadence.max_rate_hz < 0 or cadence.resolution not in RESOLUTIONS:
            raise ValueError(f'invalid depth cadence {cadence}')
        if cadence.enabled and not self.depth.enabled:
            self._depth_error = ''
        for limiter in self._depth_limiters:
            limiter.max_rate_hz = cadence.max_rate_hz
        self.depth = cadence

    def set_max_rate(self, rate_hz: float, *, load_level: float | None = None) -> str | None:
        """Perception owns its rate: a load level (0..1, asked by the power manager) scales the
        maximum. Returns why the level cannot take effect (no maximum to scale), else None."""
        self._max_rate_hz = rate_hz
        if load_level is not None:
            self._load_level = load_level
        for cam in self.cameras:
            cam.limiter.max_rate_hz = self._max_rate_hz * self._load_level
        if self._max_rate_hz <= 0 and self._load_level < 1.0:
            return (f'load_level {self._load_level:g} asked, but max_rate_hz is 0 (as fast as the model '
                    'runs): there is no rate to scale; set max_rate_hz in the profile')
        return None

    def set_load_level(self, load_level: float) -> str | None:
        return self.set_max_rate(self._max_rate_hz, load_level=load_level)

    def close(self) -> None:
        self._batcher.close()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        for model in self.models:
            model.runner.close()

    def status(self) -> tuple[Level, str, dict[str, object]]:
        """(level, message, values) for diagnostics."""
        values: dict[str, object] = {
            'state': self.state, 'load_level': self._load_level, 'received_hz': round(self.received.rate(), 2),
            'processed_hz': round(self.processed.rate(), 2), 'frames_processed': self.processed.total,
            'dropped_total': self.drops.total, 'stale_dropped': self.drops.snapshot().get('stale', 0),
            'cameras': len(self.cameras),
        }
        for reason, count in sorted(self.drops.snapshot().items()):
            values[f'dropped_{reason}'] = count
        latency = self.latency.summary()
        values['latency_p50_ms'] = round(latency['p50'] * 1e3, 2)
        values['latency_p99_ms'] = round(latency['p99'] * 1e3, 2)
        for name, stats in (('input_age', self.input_age), ('handoff', self.handoff), ('publish', self.publish_time)):
            values[f'{name}_p50_ms'] = round(stats.summary()['p50'] * 1e3, 2)
        building = False
        depth_values, depth_problem = self._depth_status()
        values.update(depth_values)
        for model in self.models:
            values[f'{model.role}_model'] = model.card.name
            values[f'{model.role}_backend'] = model.runner.description
            building |= model.runner.pending is not None and not model.runner.pending.done
            values[f'{model.role}_batching'] = model.pipeline.batching
            values[f'{model.role}_mean_batch'] = round(float(model.batch_sizes.samples().mean()), 2) \
                if model.batch_sizes.count else 0
            for stage, stats in model.stats.items():
                values[f'{model.role}_{stage}_p50_ms'] = round(stats.summary()['p50'] * 1e3, 2)
        if self.state == 'error':
            return Level.ERROR, self.message, values
        building_now = self._building
        if self.state == 'building' and building_now is not None:
            name, build = building_now
            values['engine_build_s'] = round(build.elapsed_s, 1)
            return Level.WARN, f'building engine for {name} ({build.elapsed_s:.0f} s); serving once it is built', values
        if self.state == 'loading':
            return Level.WARN, self.message, values
        if building:
            return Level.WARN, 'serving while a TensorRT engine builds', values
        if depth_problem:
            return Level.WARN, depth_problem, values
        return Level.OK, self.message, values

    def camera_status(self, camera: int) -> dict[str, object]:
        """One camera's rate, drops, latency and the batches formed without it (late or silent)."""
        values = self.cameras[camera].values()
        values.update({f'batches_without_{k}': v for k, v in self._batcher.counts(camera).items()})
        values['silent'] = self._batcher.silent(camera)
        return values

    def _depth_status(self) -> tuple[dict[str, object], str]:
        """Depth's diagnostics values, and why it is not serving as configured ('' when it is)."""
        if not self.config.depth_card:
            return {'depth': 'not configured'}, ''
        cadence = self.depth
        values: dict[str, object] = {
            'depth': 'on' if cadence.enabled else 'off', 'depth_every_n': cadence.every_n,
            'depth_max_rate_hz': cadence.max_rate_hz, 'depth_hz': round(self.depth_runs.rate(), 2),
            'depth_frames': self.depth_runs.total, 'depth_invalid_pixels': self.depth_invalid_pixels}
        if self._depth_error:
            return values, self._depth_error
        last = self._last_depth
        if cadence.enabled and last is not None and last.invalid:
            return values, f'depth model gave {last.invalid} non-finite pixels in its last frame (published as NaN)'
        return values, ''

    # --- the worker thread --------------------------------------------------------------------

    def _load(self) -> None:
        config = self.config
        roles = [('detection', config.detection_card), ('segmentation', config.segmentation_card)]
        if self.depth.enabled:
            roles.append(('depth', config.depth_card))
        for role, name in roles:
            if name:
                self.models.append(self._open_model(role, name))
        if not self.models:
            raise PerceptionError('no model configured: set detection_model, segmentation_model and/or depth_model')
        if self._class_filter:
            try:
                self.set_detection_settings(class_filter=self._class_filter)
            except ValueError as exc:
                raise PerceptionError(f'class_filter: {exc}') from exc

    def _open_model(self, role: str, name: str) -> _Model:
        config = self.config
        card = load_card(find_card(name))
        if card.task != role:
            raise PerceptionError(f'{card.path} is a {card.task} model, configured as the {role} model')
        # the TensorRT optimization profile takes the batches this worker forms
        options = dataclasses.replace(config.options, max_batch=config.max_batch)
        runner = open_runner(card, order=config.backend_order or None, options=options,
                             background_build=config.background_build, log=self._log)
        self._await_engine(runner)
        model = _Model(role, card, runner, config.max_batch)
        # One untimed pass before the first frame: ONNX Runtime and TensorRT allocate and tune on
        # their first run, which would otherwise land on (and be counted in) the first real frame.
        blank = np.zeros((card.input.height, card.input.width, 3), np.uint8)
        model.pipeline.process(blank, 'bgr8')
        return model

    def _depth_due(self, camera: int) -> bool:
        """Whether depth runs on this camera's frame (each camera has its own cadence); loads the
        model the first time depth is due after being switched on."""
        cadence = self.depth
        if not (cadence.enabled and self.config.depth_card) or self._depth_error:
            return False
        if self._depth_countdowns[camera] > 0:
            self._depth_countdowns[camera] -= 1
            return False
        if not self._depth_limiters[camera].allow():
            return False
        self._depth_countdowns[camera] = cadence.every_n - 1
        if not any(m.role == 'depth' for m in self.models):
            try:
                self.models.append(self._open_model('depth', self.config.depth_card))
            except PerceptionError as exc:
                self._depth_error = f'depth switched off: model load failed: {exc}'
                self._log(self._depth_error)
                return False
            finally:
                self.state = 'ready'  # a TensorRT wait in the load passed through `building`
        return True

    def _await_engine(self, runner: SwitchingRunner) -> None:
        """Wait for the engine when TensorRT builds and no other backend serves meanwhile (state `building`).

        The warm-up that follows activates the engine in this thread, which owns the CUDA context.
        """
        build = runner.pending
        if runner.current is not None or build is None:
            return
        self._building = (runner.card.name, build)
        self.state = 'building'
        self._log(f'{runner.card.name}: no other backend serves; waiting for the TensorRT engine build')
        while not build.wait(0.5):
            if self._batcher.closed:
                raise PerceptionError(f'{runner.card.name}: closed while the TensorRT engine was building')
        self._building = None
        self.state = 'loading'
        if build.error is not None:
            raise PerceptionError(f'{runner.card.name}: TensorRT engine build failed and no other backend '
                                  f'serves: {build.error}')

    def _run(self) -> None:
        try:
            self._load()
        except PerceptionError as exc:
            self.state, self.message = 'error', f'model load failed: {exc}'
            self._log(self.message)
            return
        self.state = 'ready'
        self.message = ', '.join(f'{m.card.name} on {m.runner.description}' for m in self.models)
        # The start-up objects (rclpy, numpy, the runtime, the models) out of the collector's
        # reach: a full collection would otherwise walk them all in the middle of a frame.
        gc.collect()
        gc.freeze()
        while (batch := self._batcher.take(self.config.max_batch)) is not None:
            self._process([job for _, job in batch])

    def _process(self, jobs: list[FrameJob]) -> None:
        start = self._clock()
        for job in jobs:
            self.handoff.add(start - job.received)
        settings = self.settings
        depth_due = [i for i, job in enumerate(jobs) if self._depth_due(job.camera)]
        results: list[dict[str, ModelResult]] = [{} for _ in jobs]
        rejected: dict[int, FrameError] = {}  # a bad frame drops that camera's frame, not the batch
        for model in self.models:
            indices = depth_due if model.role == 'depth' else range(len(jobs))
            if not indices:
                continue
            try:
                outcomes = model.pipeline.process_batch([(jobs[i].image, jobs[i].encoding) for i in indices],
                                                        settings=settings, depth_resolution=self.depth.resolution)
            except PerceptionError as exc:
                for job in jobs:
                    self._drop(self.cameras[job.camera], 'inference_error')
                self._log(f'{model.card.name}: {exc}')
                return
            served = [o for o in outcomes if not isinstance(o, FrameError)]
            for i, outcome in zip(indices, outcomes):
                if isinstance(outcome, FrameError):
                    rejected.setdefault(i, outcome)
                else:
                    results[i][model.role] = outcome
            if served:
                model.batch_sizes.add(len(served))
                for stage in ('preprocess', 'inference', 'postprocess'):
                    model.stats[stage].add(getattr(served[0].times, stage))
        for i, job in enumerate(jobs):
            if i in rejected:
                self._drop(self.cameras[job.camera], rejected[i].reason)
            else:
                self._finish(job, results[i])

    def _finish(self, job: FrameJob, results: dict[str, ModelResult]) -> None:
        detection = results.get('detection')
        segmentation = results.get('segmentation')
        depth = results['depth'].depth if 'depth' in results else None
        if depth is not None:
            self._last_depth = self._camera_depth[job.camera] = depth
            self.depth_runs.tick()
            self.depth_invalid_pixels += depth.invalid
        overlay = None
        if self.overlay:
            bgr = np.ascontiguousarray(as_rgb(job.image, job.encoding)[..., ::-1])
            detector = next(m for m in self.models if m.role == 'detection') if detection else None
            depth_model = next((m for m in self.models if m.role == 'depth'), None)
            # the camera's newest depth map, so the panel stays in its overlay between depth frames
            shown = depth_model is not None and self.depth.enabled
            panel_depth = self._camera_depth.get(job.camera) if shown else None
            overlay = draw_overlay(bgr, detections=detection.detections if detection else None,
                                   mask=segmentation.mask if segmentation else None,
                                   label=detector.card.label if detector else str,
                                   depth=panel_depth.values if panel_depth else None,
                                   depth_spec=depth_model.card.depth if depth_model else None)
        done = self._clock()
        latency = done - job.received
        cam = self.cameras[job.camera]
        self.latency.add(latency)
        cam.latency.add(latency)
        self.processed.tick()
        cam.processed.tick()
        self._publish(job, FrameResult(detection.detections if detection else None,
                                       segmentation.mask if segmentation else None, overlay, results, latency,
                                       depth=depth))
        self.publish_time.add(self._clock() - done)
