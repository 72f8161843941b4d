"""Constant tensors read from ONNX files: the raw SSD's anchors as ONNX Runtime returns them, and
hand-encoded models for each way ONNX stores a tensor."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from jetson_edge_perception.errors import BackendError
from jetson_edge_perception.onnx_initializers import read_initializers


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _tensor(name: str, data_type: int, dims: list[int], *, raw: bytes | None = None,
            floats: list[float] | None = None, external: bool = False) -> bytes:
    message = b''.join(_varint_field(1, d) for d in dims) + _varint_field(2, data_type)
    if floats is not None:
        message += _bytes_field(4, struct.pack(f'<{len(floats)}f', *floats))
    message += _bytes_field(8, name.encode())
    if raw is not None:
        message += _bytes_field(9, raw)
    if external:
        message += _varint_field(14, 1)
    return message


def _model(path: Path, *tensors: bytes) -> Path:
    node = _bytes_field(1, _bytes_field(4, b'Relu'))  # a node before the initializers, as exporters write
    graph = node + b''.join(_bytes_field(5, t) for t in tensors)
    path.write_bytes(_varint_field(1, 8) + _bytes_field(7, graph))
    return path


def test_raw_ssd_anchors_are_what_onnx_runtime_returns(models_dir):
    ort = pytest.importorskip('onnxruntime', reason='ONNX Runtime gives the reference anchors')
    path = models_dir / 'ssd_mobilenet_v2_coco_raw.onnx'
    anchors = read_initializers(path, {'Concatenate/concat:0'})['Concatenate/concat:0']
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    reference, = session.run(['Concatenate/concat:0'], {'Preprocessor/sub:0': np.zeros((1, 300, 300, 3), np.float32)})
    assert anchors.shape == (1917, 4) and anchors.dtype == np.float32
    np.testing.assert_array_equal(anchors, reference)


def test_raw_bytes_and_float_data_tensors_by_name(tmp_path):
    raw = np.arange(6, dtype='<f4').reshape(2, 3)
    path = _model(tmp_path / 'm.onnx',
                  _tensor('raw', 1, [2, 3], raw=raw.tobytes()),
                  _tensor('floats', 1, [2], floats=[1.5, -2.0]),
                  _tensor('ints', 7, [3], raw=np.array([7, -1, 2**40], '<i8').tobytes()),
                  _tensor('unwanted', 1, [1], floats=[0.0]))
    found = read_initializers(path, {'raw', 'floats', 'ints', 'not_in_the_graph'})
    assert set(found) == {'raw', 'floats', 'ints'}
    np.testing.assert_array_equal(found['raw'], raw)
    np.testing.assert_array_equal(found['floats'], np.array([1.5, -2.0], np.float32))
    np.testing.assert_array_equal(found['ints'], np.array([7, -1, 2**40], np.int64))


def test_tensor_stored_outside_the_file_is_an_error_naming_it(tmp_path):
    path = _model(tmp_path / 'm.onnx', _tensor('anchors', 1, [4], external=True))
    with pytest.raises(BackendError, match="'anchors' cannot be read: its data is stored outside"):
        read_initializers(path, {'anchors'})


def test_truncated_file_is_an_error_not_a_partial_result(tmp_path):
    whole = _model(tmp_path / 'm.onnx', _tensor('a', 1, [4], raw=bytes(16)))
    whole.write_bytes(whole.read_bytes()[:-5])
    with pytest.raises(BackendError, match='not a valid ONNX file'):
        read_initializers(whole, {'a'})


def test_missing_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(BackendError, match='cannot read the ONNX file'):
        read_initializers(tmp_path / 'absent.onnx', {'a'})
