"""An ONNX file's nodes and its initializers as arrays over the file's own bytes, for editing weights in place.

Zeroing weights never changes how many bytes a tensor takes, so an edited model is the original
file with some values overwritten: graph, names and metadata stay byte for byte what they were,
and no `onnx` package is needed (the same protobuf walk as `onnx_initializers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelFileError
from .onnx_initializers import GRAPH_INITIALIZER, MODEL_GRAPH, tensor_view, wire_fields

__all__ = ['GraphNode', 'OnnxGraph', 'load_graph']

# Field numbers from onnx.proto: GraphProto.node, NodeProto.*, AttributeProto.*.
_GRAPH_NODE = 1
_NODE_INPUT, _NODE_NAME, _NODE_OP_TYPE, _NODE_ATTRIBUTE = 1, 3, 4, 5
_ATTRIBUTE_NAME, _ATTRIBUTE_INT = 1, 3


@dataclass(frozen=True)
class GraphNode:
    """One node: its name (exporters may leave it empty), operator, inputs and integer attributes."""

    name: str
    op_type: str
    inputs: tuple[str, ...]
    int_attributes: dict[str, int] = field(default_factory=dict)


@dataclass
class OnnxGraph:
    """The file's bytes, its nodes in order, and each initializer as a view into those bytes (or why not)."""

    path: Path
    data: bytearray
    nodes: list[GraphNode]
    initializers: dict[str, np.ndarray | str]

    def writable(self, name: str) -> np.ndarray | str:
        """The initializer `name` as an array whose writes land in `data`, or why it cannot be edited here."""
        tensor = self.initializers.get(name)
        if tensor is None:
            return 'its weights are not an initializer of the graph'
        if isinstance(tensor, str):
            return tensor
        if not np.may_share_memory(tensor, np.frombuffer(self.data, np.uint8)):
            return 'its float_data is split over several fields'
        return tensor

    def save(self, path: Path) -> None:
        try:
            Path(path).write_bytes(self.data)
        except OSError as exc:
            raise ModelFileError(f'{path}: cannot write the ONNX file ({exc})') from exc


def _node(message: memoryview) -> GraphNode:
    name, op_type, inputs, attributes = '', '', [], {}
    for number, _, value in wire_fields(message):
        if number == _NODE_INPUT:
            inputs.append(bytes(value).decode())
        elif number == _NODE_NAME:
            name = bytes(value).decode()
        elif number == _NODE_OP_TYPE:
            op_type = bytes(value).decode()
        elif number == _NODE_ATTRIBUTE:
            attribute_name, integer = '', None
            for attribute_field, _, attribute_value in wire_fields(value):
                if attribute_field == _ATTRIBUTE_NAME:
                    attribute_name = bytes(attribute_value).decode()
                elif attribute_field == _ATTRIBUTE_INT:
                    integer = attribute_value - (1 << 64) if attribute_value >= 1 << 63 else attribute_value
            if integer is not None:
                attributes[attribute_name] = integer
    return GraphNode(name, op_type, tuple(inputs), attributes)


def load_graph(path: Path) -> OnnxGraph:
    """Read the ONNX model at `path` (nodes of the main graph, initializers as writable views)."""
    path = Path(path)
    try:
        data = bytearray(path.read_bytes())
    except OSError as exc:
        raise ModelFileError(f'{path}: cannot read the ONNX file ({exc})') from exc
    nodes: list[GraphNode] = []
    initializers: dict[str, np.ndarray | str] = {}
    try:
        for number, _, graph in wire_fields(memoryview(data)):
            if number != MODEL_GRAPH:
                continue
            for graph_field, _, message in wire_fields(graph):
                if graph_field == _GRAPH_NODE:
                    nodes.append(_node(message))
                elif graph_field == GRAPH_INITIALIZER:
                    name, tensor = tensor_view(message)
                    initializers[name] = tensor
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise ModelFileError(f'{path}: not a valid ONNX file ({exc})') from exc
    if not nodes:
        raise ModelFileError(f'{path}: not a valid ONNX file (its graph has no nodes)')
    return OnnxGraph(path, data, nodes, initializers)
