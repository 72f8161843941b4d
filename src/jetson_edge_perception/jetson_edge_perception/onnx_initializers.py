"""Named constant tensors (graph initializers) read straight from an ONNX file.

A model may return a constant as a graph output (the raw SSD's anchors are an initializer that is
also an output). OpenCV DNN 4.x folds such outputs away at import, so the backend reads them here.
This walks the protobuf wire format of ModelProto -> GraphProto -> TensorProto itself: the few
fields it needs do not justify the `onnx` package as a dependency.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import BackendError

__all__ = ['read_initializers', 'wire_fields', 'tensor_view', 'MODEL_GRAPH', 'GRAPH_INITIALIZER']

# Field numbers from onnx.proto (ModelProto.graph, GraphProto.initializer, TensorProto.*).
MODEL_GRAPH = 7
GRAPH_INITIALIZER = 5
_TENSOR_DIMS, _TENSOR_DATA_TYPE, _TENSOR_FLOAT_DATA, _TENSOR_NAME, _TENSOR_RAW_DATA = 1, 2, 4, 8, 9
_TENSOR_DATA_LOCATION = 14
# TensorProto.DataType -> little-endian numpy dtype, for tensors stored as raw_data.
_DTYPES = {1: '<f4', 2: 'u1', 3: 'i1', 4: '<u2', 5: '<i2', 6: '<i4', 7: '<i8', 9: '?', 10: '<f2', 11: '<f8',
           12: '<u4', 13: '<u8'}
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def wire_fields(data: memoryview):
    """(field number, wire type, value) of one protobuf message; bytes fields as memoryviews."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _varint(data, pos)
        elif wire == _BYTES:
            size, pos = _varint(data, pos)
            value, pos = data[pos:pos + size], pos + size
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            value, pos = data[pos:pos + size], pos + size
        else:
            raise ValueError(f'protobuf wire type {wire} (field {number}) is not valid in ONNX')
        if pos > len(data):
            raise ValueError('message is truncated')
        yield number, wire, value


def _packed_varints(values: list[int], wire: int, value: int | memoryview) -> None:
    if wire == _VARINT:
        values.append(value)
        return
    pos = 0
    while pos < len(value):
        item, pos = _varint(value, pos)
        values.append(item)


def tensor_view(message: memoryview) -> tuple[str, np.ndarray | str]:
    """The tensor's name and its array, or the reason it cannot be read here.

    The array is a little-endian view over `message` (writable where `message` is), except for
    float_data split over several fields, which is joined into a copy.
    """
    name, data_type, dims, raw, floats, external = '', 0, [], None, [], False
    for number, wire, value in wire_fields(message):
        if number == _TENSOR_NAME:
            name = bytes(value).decode()
        elif number == _TENSOR_DATA_TYPE:
            data_type = value
        elif number == _TENSOR_DIMS:
            _packed_varints(dims, wire, value)
        elif number == _TENSOR_RAW_DATA:
            raw = value
        elif number == _TENSOR_FLOAT_DATA:
            floats.append(np.frombuffer(value, '<f4'))
        elif number == _TENSOR_DATA_LOCATION:
            external = value == 1
    if external:
        return name, 'its data is stored outside the .onnx file'
    if raw is not None and data_type in _DTYPES:
        array = np.frombuffer(raw, _DTYPES[data_type])
    elif data_type == 1 and raw is None:
        array = floats[0] if len(floats) == 1 else np.concatenate(floats or [np.empty(0, '<f4')])
    else:
        return name, f'ONNX data type {data_type} is not stored as raw bytes'
    if array.size != int(np.prod(dims)):
        return name, f'{array.size} values for dims {dims}'
    return name, array.reshape(dims)


def read_initializers(path: Path, names: set[str]) -> dict[str, np.ndarray]:
    """The initializers of the ONNX model at `path` whose names are in `names` (others are absent)."""
    try:
        model = memoryview(path.read_bytes())
    except OSError as exc:
        raise BackendError(f'{path}: cannot read the ONNX file ({exc})') from exc
    found: dict[str, np.ndarray] = {}
    try:
        for number, _, graph in wire_fields(model):
            if number != MODEL_GRAPH:
                continue
            for field, _, message in wire_fields(graph):
                if field != GRAPH_INITIALIZER:
                    continue
                name, tensor = tensor_view(message)
                if name not in names:
                    continue
                if isinstance(tensor, str):
                    raise BackendError(f'{path}: initializer {name!r} cannot be read: {tensor}')
                found[name] = tensor.astype(tensor.dtype.newbyteorder('='))  # a copy: the file is not kept
    except (ValueError, IndexError) as exc:
        raise BackendError(f'{path}: not a valid ONNX file ({exc})') from exc
    return found
