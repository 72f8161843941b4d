"""A faithful stand-in for jetson-inference's depthNet and the jetson_utils calls the backend makes.

What it copies from jetson-inference (c/depthNet.cpp, python bindings): `depthNet(argv=[...])` reads
`--model`, `--input_blob` / `--input-blob` and `--output_blob` / `--output-blob`, and fails to load
with a plain Exception when the model or a blob name is wrong; `Process(image)` stretches the whole
RGB image to the network's input size, maps [0, 255] to [0, 1] with no mean or std, runs the network
and keeps the raw output as the depth field; `GetDepthField()` returns that field as a float32 CUDA
image of `GetDepthFieldHeight()` x `GetDepthFieldWidth()`. The network runs for real (ONNX Runtime).
"""

from __future__ import annotations

import types

import cv2
import numpy as np


class CudaImage:
    """jetson_utils.cudaImage: mapped memory with width, height and a numpy view."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.height, self.width = array.shape[:2]


def _arguments(argv: list[str]) -> dict[str, str]:
    out = {}
    for arg in argv:
        key, _, value = arg.lstrip('-').partition('=')
        out[key.replace('-', '_')] = value  # jetson-utils' commandLine treats - and _ alike
    return out


class DepthNet:
    def __init__(self, network: str = 'fcn-mobilenet', argv: list[str] | None = None) -> None:
        import onnxruntime as ort
        args = _arguments(argv or [])
        try:
            self._session = ort.InferenceSession(args['model'], providers=['CPUExecutionProvider'])
        except Exception as exc:
            raise Exception(f'depthNet -- failed to initialize: {exc}') from exc
        self._input = args.get('input_blob', 'input_0')
        self._output = args.get('output_blob', 'output_0')
        inputs = {i.name: i.shape for i in self._session.get_inputs()}
        if self._input not in inputs or self._output not in {o.name for o in self._session.get_outputs()}:
            raise Exception('depthNet -- failed to initialize (input or output blob not in the network)')
        self._height, self._width = inputs[self._input][2:]
        self._field: np.ndarray | None = None

    def Process(self, image: CudaImage) -> None:
        resized = cv2.resize(image.array, (self._width, self._height), interpolation=cv2.INTER_LINEAR)
        tensor = (resized.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        output = self._session.run([self._output], {self._input: tensor})[0]
        self._field = np.ascontiguousarray(output.reshape(output.shape[-2:]), np.float32)

    def GetDepthField(self) -> CudaImage:
        if self._field is None:
            raise Exception('depthNet -- no depth field before Process()')
        return CudaImage(self._field)

    def GetDepthFieldWidth(self) -> int:
        return self._width

    def GetDepthFieldHeight(self) -> int:
        return self._height


def modules() -> tuple[types.ModuleType, types.ModuleType]:
    """(jetson_inference, jetson_utils) with depthNet and the calls the backend uses."""
    inference = types.ModuleType('jetson_inference')
    inference.depthNet = DepthNet
    utils = types.ModuleType('jetson_utils')
    utils.cudaFromNumpy = lambda array: CudaImage(np.array(array))
    utils.cudaToNumpy = lambda image: image.array.reshape(image.height, image.width, -1)
    utils.cudaDeviceSynchronize = lambda: None
    return inference, utils
