"""Magnitude pruning of an ONNX model's Conv, Gemm and MatMul weights to the 2:4 structured-sparsity pattern.

2:4 means: in every group of 4 consecutive weights along the reduction (input-channel) axis, at
most 2 are non-zero; Ampere and Orin sparse tensor cores skip the zeros. The axis follows NVIDIA's
ASP (apex/contrib/sparsity, `sparse_masklib.create_mask`): a convolution weight [K, C, R, S] is
grouped along C at each (k, r, s) (ASP permutes it to [R, S, K, C] and groups the last axis); a
fully connected weight along its input features, which for ONNX Gemm is axis 0 of B [C, K], or
axis 1 when transB = 1, and for MatMul axis 0 of the [C, K] initializer. TensorRT states its rule
the same way: for each output channel and kernel position, every 4 input channels hold 2 zeros.
Of each group the 2 weights of largest magnitude stay.

A layer stays dense, with the reason in the report, when the pattern cannot apply or would not pay:
input channels not a multiple of 4; grouped and depthwise convolutions; and ASP's own tensor-core
check, which skips weights whose input channels are not a multiple of 16 or output channels not
a multiple of 8 (so too few channels, too); layers the user lists (`skip`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from .errors import ModelFileError
from .onnx_graph import GraphNode, OnnxGraph, load_graph

__all__ = ['PATTERN', 'LayerPlan', 'LayerOutcome', 'PruneReport', 'plan_layers', 'apply_pruning', 'prune_model',
           'satisfies_pattern', 'prune_in_place', 'format_report']

PATTERN = '2:4'
_KEEP, _GROUP = 2, 4
_ASP_IN_MULTIPLE, _ASP_OUT_MULTIPLE = 16, 8


@dataclass(frozen=True)
class LayerPlan:
    """A weighted layer: its name (the node's, else its weight's), operator, weight initializer,
    the reduction axis of the weight, and why it stays dense ('' when it is pruned)."""

    name: str
    op_type: str
    weight: str
    shape: tuple[int, ...]
    axis: int
    dense_reason: str = ''

    @property
    def prunable(self) -> bool:
        return not self.dense_reason


@dataclass(frozen=True)
class LayerOutcome:
    """A planned layer after pruning: how many weights it has and how many pruning set to zero."""

    plan: LayerPlan
    weights: int
    zeroed: int


@dataclass(frozen=True)
class PruneReport:
    layers: tuple[LayerOutcome, ...]

    @property
    def pruned(self) -> tuple[LayerOutcome, ...]:
        return tuple(layer for layer in self.layers if layer.plan.prunable)

    @property
    def dense(self) -> tuple[LayerOutcome, ...]:
        return tuple(layer for layer in self.layers if not layer.plan.prunable)

    @property
    def weights(self) -> int:
        return sum(layer.weights for layer in self.layers)

    @property
    def zeroed(self) -> int:
        return sum(layer.zeroed for layer in self.layers)

    @property
    def share_zeroed(self) -> float:
        """Zeroed by pruning, over every Conv/Gemm/MatMul weight of the model (dense layers included)."""
        return self.zeroed / self.weights if self.weights else 0.0


def _weight_axis(node: GraphNode, weight: np.ndarray) -> tuple[int, str]:
    """The reduction axis of `node`'s weight, and why it cannot take the pattern ('' when it can)."""
    if node.op_type == 'Conv':
        if weight.ndim != 4:
            return 1, f'{weight.ndim - 2}-D convolution (only 2-D ones are pruned)'
        group = node.int_attributes.get('group', 1)
        if group > 1:
            kind = 'depthwise convolution' if weight.shape[1] == 1 else 'grouped convolution'
            return 1, f'{kind} (group {group})'
        return 1, ''
    if weight.ndim != 2:
        return 0, f'{weight.ndim}-D weight'
    if node.op_type == 'Gemm':
        return (1 if node.int_attributes.get('transB', 0) else 0), ''
    return 0, ''


def _channel_reason(shape: tuple[int, ...], axis: int) -> str:
    channels = shape[axis]
    outputs = shape[0] if axis != 0 else shape[1]
    if channels % _GROUP:
        return f'{channels} input channels: not a multiple of {_GROUP}'
    if channels % _ASP_IN_MULTIPLE or outputs % _ASP_OUT_MULTIPLE:
        return (f'{channels} input channels, {outputs} output channels: sparse tensor cores need multiples '
                f'of {_ASP_IN_MULTIPLE} and {_ASP_OUT_MULTIPLE}')
    return ''


def plan_layers(graph: OnnxGraph, *, skip: Iterable[str] = ()) -> list[LayerPlan]:
    """Every Conv, Gemm and MatMul-with-a-weight of the graph, each marked prunable or dense with a reason.

    A name in `skip` that matches no layer (by node name or weight name) is an error: a typo must
    not leave a layer pruned that the user meant to keep dense.
    """
    skip = set(skip)
    plans: list[LayerPlan] = []
    seen: set[str] = set()
    for node in graph.nodes:
        if node.op_type not in ('Conv', 'Gemm', 'MatMul') or len(node.inputs) < 2:
            continue
        weight_name = node.inputs[1]
        if node.op_type == 'MatMul' and weight_name not in graph.initializers:
            continue  # a product of two activations: no weights
        if weight_name in seen:
            continue  # a weight shared by several nodes is pruned once
        seen.add(weight_name)
        name = node.name or weight_name
        weight = graph.writable(weight_name)
        if isinstance(weight, str):
            plans.append(LayerPlan(name, node.op_type, weight_name, (), 0, weight))
            continue
        shape = tuple(weight.shape)
        axis, reason = _weight_axis(node, weight)
        if not reason and weight.dtype.kind != 'f':
            reason = f'{weight.dtype} weights, not floating point'
        reason = reason or _channel_reason(shape, axis)
        if name in skip or weight_name in skip:
            reason = 'listed with --skip'
        plans.append(LayerPlan(name, node.op_type, weight_name, shape, axis, reason))
    unknown = skip - {p.name for p in plans} - {p.weight for p in plans}
    if unknown:
        raise ModelFileError(f'{graph.path}: --skip names no Conv/Gemm/MatMul layer: {", ".join(sorted(unknown))}')
    return plans


def _groups(weights: np.ndarray, axis: int) -> np.ndarray:
    moved = np.moveaxis(weights, axis, -1)
    return moved.reshape(*moved.shape[:-1], moved.shape[-1] // _GROUP, _GROUP)


def prune_in_place(weights: np.ndarray, axis: int) -> None:
    """Zero the 2 smallest-magnitude weights of every 4 consecutive ones along `axis` (its size a multiple of 4)."""
    groups = _groups(weights, axis)  # a copy unless `axis` is already the last one
    smallest = np.argsort(np.abs(groups), axis=-1, kind='stable')[..., :_GROUP - _KEEP]
    np.put_along_axis(groups, smallest, 0, axis=-1)
    np.moveaxis(weights, axis, -1)[...] = groups.reshape(np.moveaxis(weights, axis, -1).shape)


def satisfies_pattern(weights: np.ndarray, axis: int) -> bool:
    """Whether every 4 consecutive weights along `axis` hold at most 2 non-zeros."""
    if weights.shape[axis] % _GROUP:
        return False
    return bool(np.all(np.count_nonzero(_groups(weights, axis), axis=-1) <= _KEEP))


def apply_pruning(graph: OnnxGraph, plans: Iterable[LayerPlan]) -> PruneReport:
    """Prune the prunable layers of `plans` in `graph` (in memory) and report every planned layer."""
    outcomes = []
    for plan in plans:
        weight = graph.writable(plan.weight)
        if isinstance(weight, str):
            outcomes.append(LayerOutcome(plan, 0, 0))
            continue
        zeroed = 0
        if plan.prunable:
            before = np.count_nonzero(weight)
            prune_in_place(weight, plan.axis)
            zeroed = before - int(np.count_nonzero(weight))
        outcomes.append(LayerOutcome(plan, int(weight.size), int(zeroed)))
    return PruneReport(tuple(outcomes))


def prune_model(source: Path, output: Path, *, skip: Iterable[str] = ()) -> PruneReport:
    """Write `source` pruned to 2:4 as `output`; the report says which layers were pruned and what it zeroed."""
    if Path(output).resolve() == Path(source).resolve():
        raise ModelFileError(f'{output}: the pruned model must not overwrite the original')
    graph = load_graph(source)
    report = apply_pruning(graph, plan_layers(graph, skip=skip))
    graph.save(output)
    return report


def format_report(report: PruneReport) -> str:
    """The per-layer table and the totals, as `jetson-edge model prune` prints them."""
    width = max([len(layer.plan.name) for layer in report.layers] + [5])
    lines = [f'{"layer":<{width}}  {"op":<6}  {"weight shape":<18}  {"zeroed":>7}  status']
    for layer in report.layers:
        plan = layer.plan
        share = f'{layer.zeroed / layer.weights:7.1%}' if layer.weights else f'{"-":>7}'
        status = f'pruned {PATTERN}' if plan.prunable else f'dense: {plan.dense_reason}'
        shape = 'x'.join(map(str, plan.shape)) or '-'
        lines.append(f'{plan.name:<{width}}  {plan.op_type:<6}  {shape:<18}  {share}  {status}')
    pruned_weights = sum(layer.weights for layer in report.pruned)
    lines.append(f'{len(report.pruned)} of {len(report.layers)} layers pruned to {PATTERN} '
                 f'({pruned_weights} of {report.weights} weights); {len(report.dense)} left dense; '
                 f'{report.zeroed} weights zeroed = {report.share_zeroed:.1%} of all Conv/Gemm/MatMul weights')
    return '\n'.join(lines)
