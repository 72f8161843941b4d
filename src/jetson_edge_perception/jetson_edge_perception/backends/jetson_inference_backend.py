"""jetson-inference backend: detectNet / segNet / depthNet from dusty-nv's jetson-inference, on a Jetson.

jetson-inference does its own pre- and post-processing on the GPU (and builds/caches its own
TensorRT engine next to the model), so this backend takes the RGB image and returns detections, a
class mask, or depthNet's raw depth field (`runs_own_pipeline`; the pipeline decodes the field as
it does every backend's depth output). The card's `jetson_inference` section gives the extra network
arguments (input_blob, output_cvg, output_bbox for detectNet; input_blob, output_blob for a custom
depthNet model; nothing for segNet), passed as the usual `--flag=value` arguments. depthNet fits a
custom ONNX depth model only where the card's preprocessing is depthNet's own (whole image
stretched to the input size, RGB in [0, 1], NCHW, no mean or std). Where the library is missing,
`activate()` says so plainly.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Mapping

import numpy as np
from jetson_edge_common.runtimes import runtime_present

from ..errors import BackendError, BackendUnavailableError
from ..pipeline import DetectionSettings
from ..postprocess import Detections
from .base import Backend


def import_jetson_inference() -> tuple[object, object]:
    """(jetson_inference, jetson_utils); both module layouts (new top-level, old `jetson.*`) are accepted."""
    try:
        import jetson_inference
        import jetson_utils
    except ImportError:
        try:
            import jetson.inference as jetson_inference  # type: ignore[no-redef]
            import jetson.utils as jetson_utils  # type: ignore[no-redef]
        except ImportError as exc:
            raise BackendUnavailableError(
                f'jetson-inference is not installed: {exc}. It is built from source on a Jetson '
                f'(github dusty-nv/jetson-inference) or used through its container; use the tensorrt or '
                f'onnxruntime backend otherwise.') from exc
    return jetson_inference, jetson_utils


class JetsonInferenceBackend(Backend):
    name = 'jetson_inference'
    runs_own_pipeline = True

    @classmethod
    def available(cls) -> tuple[bool, str]:
        ok, _ = runtime_present('jetson_inference')
        return (True, 'jetson_inference found') if ok else (False, 'jetson-inference is not installed')

    def _argv(self) -> list[str]:
        card = self.card
        argv = [f'--model={self.model_path()}']
        if card.labels:
            labels_file = Path(tempfile.mkdtemp(prefix='jetson_edge_')) / f'{card.name}.labels.txt'
            labels_file.write_text('\n'.join(card.labels) + '\n', encoding='utf-8')
            argv.append(f'--labels={labels_file}')
        for key, value in card.jetson_inference.items():
            argv.append(f'--{key.replace("_", "-")}={value}')
        return argv

    def _activate(self) -> None:
        inference, utils = import_jetson_inference()
        argv = self._argv()
        try:
            if self.card.task == 'detection':
                self._net = inference.detectNet(argv=argv, threshold=self.card.score_threshold)
            elif self.card.task == 'depth':
                self._net = inference.depthNet(argv=argv)
            else:
                self._net = inference.segNet(argv=argv)
        except Exception as exc:  # jetson-inference raises plain Exception on load failures
            raise BackendError(f'jetson-inference cannot load {self.card.file}: {exc}') from exc
        self._utils = utils
        self._mask_buffer: object | None = None

    @property
    def description(self) -> str:
        return 'jetson_inference' + (f' [{type(self._net).__name__}]' if self.active else '')

    def _infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise BackendError('jetson_inference runs the whole pipeline: call run_image(rgb)')

    def run_image(self, rgb: np.ndarray, *, settings: DetectionSettings) -> Detections | np.ndarray:
        """Detections (source pixels) for a detection card, an (H, W) uint8 class mask for a segmentation
        card, or the raw (h, w) float32 depth field at the network's resolution for a depth card."""
        utils = self._utils
        cuda_image = utils.cudaFromNumpy(np.ascontiguousarray(rgb))
        height, width = rgb.shape[:2]
        if self.card.task == 'depth':
            self._net.Process(cuda_image)
            field = self._net.GetDepthField()
            utils.cudaDeviceSynchronize()
            shape = (self._net.GetDepthFieldHeight(), self._net.GetDepthFieldWidth())
            return np.array(utils.cudaToNumpy(field), np.float32).reshape(shape)
        if self.card.task == 'detection':
            self._net.SetConfidenceThreshold(settings.score_threshold)
            found = self._net.Detect(cuda_image, width, height, overlay='none')
            if not found:
                return Detections.empty()
            boxes = np.array([[d.Left, d.Top, d.Right, d.Bottom] for d in found], np.float32)
            scores = np.array([d.Confidence for d in found], np.float32)
            ids = np.array([d.ClassID for d in found], np.int32)
            return Detections(boxes, scores, ids)
        self._net.Process(cuda_image)
        if self._mask_buffer is None or self._mask_buffer.width != width or self._mask_buffer.height != height:
            self._mask_buffer = utils.cudaAllocMapped(width=width, height=height, format='gray8')
        self._net.Mask(self._mask_buffer, width, height, 'point')
        utils.cudaDeviceSynchronize()
        return np.array(utils.cudaToNumpy(self._mask_buffer)).reshape(height, width).astype(np.uint8)

    def _close(self) -> None:
        self._net = None
