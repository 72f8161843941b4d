"""OpenCV DNN backend: runs TensorFlow frozen graphs, TFLite, Caffe and ONNX models with no conversion.

It is the backend that runs the registry-shipped COCO SSD (TF graph + pbtxt) and the MediaPipe
selfie tflite. `opencv_target` picks CPU or, with an OpenCV built with CUDA, the CUDA target.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from jetson_edge_common.runtimes import runtime_present

from ..errors import BackendError, BackendUnavailableError
from ..onnx_initializers import read_initializers
from .base import Backend

_TARGETS = ('cpu', 'cuda', 'cuda_fp16')


class OpenCvDnnBackend(Backend):
    name = 'opencv_dnn'

    @classmethod
    def available(cls) -> tuple[bool, str]:
        return runtime_present('opencv')

    def _read_net(self, cv2: object) -> object:
        card = self.card
        path = str(self.model_path())
        fmt = card.format
        if fmt == 'tensorflow':
            config = str(self.model_path(card.config_file, key='config_file')) if card.config_file else ''
            return cv2.dnn.readNetFromTensorflow(path, config)
        if fmt == 'tflite':
            if not hasattr(cv2.dnn, 'readNetFromTFLite'):
                raise BackendUnavailableError(f'OpenCV {cv2.__version__} cannot read TFLite models (needs 4.8+)')
            return cv2.dnn.readNetFromTFLite(path)
        if fmt == 'caffe':
            if not card.config_file:
                raise BackendError(f'{card.path}: config_file (the .prototxt) is required for Caffe models')
            return cv2.dnn.readNetFromCaffe(str(self.model_path(card.config_file, key='config_file')), path)
        if fmt == 'onnx':
            return cv2.dnn.readNetFromONNX(path)
        raise BackendError(f'{card.path}: OpenCV DNN cannot run format {fmt!r}')

    def _activate(self) -> None:
        try:
            import cv2
        except ImportError as exc:
            raise BackendUnavailableError(f'OpenCV is not installed: {exc}; pip install opencv-python-headless') from exc
        if self.options.intra_op_threads:
            cv2.setNumThreads(self.options.intra_op_threads)  # process-wide in OpenCV
        target = self.options.opencv_target
        if target not in _TARGETS:
            raise BackendError(f'opencv_target {target!r} is not one of {", ".join(_TARGETS)}')
        try:
            net = self._read_net(cv2)
        except cv2.error as exc:
            raise BackendError(f'OpenCV DNN cannot load {self.card.file}: {exc}') from exc
        if target != 'cpu':
            cuda_devices = cv2.cuda.getCudaEnabledDeviceCount() if hasattr(cv2, 'cuda') else 0
            if cuda_devices == 0:
                raise BackendUnavailableError(f'opencv_target {target} needs OpenCV built with CUDA and a GPU; '
                                              f'this OpenCV {cv2.__version__} sees none')
            net.setPreferableBackend(cv2.dnn.DNN_BACKEND_CUDA)
            net.setPreferableTarget(cv2.dnn.DNN_TARGET_CUDA_FP16 if target == 'cuda_fp16' else cv2.dnn.DNN_TARGET_CUDA)
        self._net = net
        self._cv2 = cv2
        self._output_names = list(net.getUnconnectedOutLayersNames())
        self._constants = self._constant_outputs()
        self._version = cv2.__version__

    def _constant_outputs(self) -> dict[str, np.ndarray]:
        """The card's ONNX outputs that OpenCV dropped because they are constants (OpenCV 4.x folds a
        graph output that is an initializer away; 5.x keeps it), read from the file instead."""
        if self.card.format != 'onnx':
            return {}
        missing = set(self.card.decoder.outputs.values()) - set(self._output_names)
        return read_initializers(self.model_path(), missing) if missing else {}

    @property
    def description(self) -> str:
        if not self.active:
            return self.name
        return f'opencv_dnn {self._version} [{self.options.opencv_target}]'

    def _infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if len(feed) != 1:
            raise BackendError(f'opencv_dnn takes one input tensor, got {list(feed)}')
        tensor = next(iter(feed.values()))
        try:
            self._net.setInput(tensor)
            results = self._net.forward(self._output_names)
        except self._cv2.error as exc:
            raise BackendError(f'OpenCV DNN inference failed: {exc}') from exc
        outputs = dict(zip(self._output_names, results))
        outputs.update(self._constants)
        # OpenCV names outputs by layer; map the card's roles onto them when there is one output
        # per role in the same order, so the card's decoder.outputs names still resolve.
        for role, name in self.card.decoder.outputs.items():
            if name not in outputs and len(results) == 1:
                outputs[name] = results[0]
        return outputs

    def _close(self) -> None:
        self._net = None
        self._constants = {}
