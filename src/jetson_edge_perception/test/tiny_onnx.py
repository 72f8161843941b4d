"""A tiny real ONNX model with one layer of each kind pruning meets, written as protobuf wire format
(field numbers from onnx.proto; `onnx` is no dependency, as in fake_tensorrt.dynamic_batch_onnx).

x [1, 3, 8, 8] -> stem Conv 3->16 3x3 -> pointwise Conv 16->16 -> depthwise Conv 16 (group 16) 3x3
-> reduce Conv 16->8 -> narrow Conv 8->16 -> GlobalAveragePool -> Flatten -> fc Gemm 16->8 (transB) -> y [1, 8]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: layer -> (weight shape, what pruning must do with it)
LAYERS = {
    'stem': ((16, 3, 3, 3), 'dense: 3 input channels'),
    'pointwise': ((16, 16, 1, 1), 'pruned'),
    'depthwise': ((16, 1, 3, 3), 'dense: depthwise'),
    'reduce': ((8, 16, 1, 1), 'pruned'),
    'narrow': ((16, 8, 1, 1), 'dense: 8 input channels'),
    'fc': ((8, 16), 'pruned'),
}


def varint(value: int) -> bytes:
    out = b''
    while True:
        byte, value = value & 0x7f, value >> 7
        out += bytes([byte | (0x80 if value else 0)])
        if not value:
            return out


def protobuf_field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return varint(number << 3) + varint(payload)
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def _int_attribute(name: str, value: int) -> bytes:
    return protobuf_field(1, name.encode()) + protobuf_field(3, value) + protobuf_field(20, 2)  # type INT


def _node(name: str, op: str, inputs: list[str], output: str, **attributes: int) -> bytes:
    return (b''.join(protobuf_field(1, i.encode()) for i in inputs) + protobuf_field(2, output.encode())
            + protobuf_field(3, name.encode())
            + protobuf_field(4, op.encode()) + b''.join(protobuf_field(5, _int_attribute(k, v)) for k, v in attributes.items()))


def _initializer(name: str, array: np.ndarray) -> bytes:
    dims = b''.join(protobuf_field(1, d) for d in array.shape)
    return dims + protobuf_field(2, 1) + protobuf_field(8, name.encode()) + protobuf_field(9, array.astype('<f4').tobytes())


def _value_info(name: str, dims: tuple[int, ...]) -> bytes:
    shape = b''.join(protobuf_field(1, protobuf_field(1, d)) for d in dims)
    return protobuf_field(1, name.encode()) + protobuf_field(2, protobuf_field(1, protobuf_field(1, 1) + protobuf_field(2, shape)))


def tiny_model(path: Path, *, seed: int = 0) -> Path:
    """Write the model to `path` with random weights; returns `path`."""
    rng = np.random.default_rng(seed)
    weights = {f'{layer}.weight': rng.standard_normal(shape).astype(np.float32)
               for layer, (shape, _) in LAYERS.items()}
    weights['fc.bias'] = rng.standard_normal(8).astype(np.float32)
    nodes = [
        _node('stem', 'Conv', ['x', 'stem.weight'], 'a'),
        _node('pointwise', 'Conv', ['a', 'pointwise.weight'], 'b'),
        _node('depthwise', 'Conv', ['b', 'depthwise.weight'], 'c', group=16),
        _node('reduce', 'Conv', ['c', 'reduce.weight'], 'd'),
        _node('narrow', 'Conv', ['d', 'narrow.weight'], 'e'),
        _node('pool', 'GlobalAveragePool', ['e'], 'f'),
        _node('flatten', 'Flatten', ['f'], 'g'),
        _node('fc', 'Gemm', ['g', 'fc.weight', 'fc.bias'], 'y', transB=1),
    ]
    graph = (b''.join(protobuf_field(1, n) for n in nodes) + protobuf_field(2, b'tiny')
             + b''.join(protobuf_field(5, _initializer(name, array)) for name, array in weights.items())
             + protobuf_field(11, _value_info('x', (1, 3, 8, 8))) + protobuf_field(12, _value_info('y', (1, 8))))
    path.write_bytes(protobuf_field(1, 8) + protobuf_field(7, graph) + protobuf_field(8, protobuf_field(2, 13)))  # ir_version 8, opset 13
    return path
