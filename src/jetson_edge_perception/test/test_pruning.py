"""2:4 pruning: the pattern on every pruned tensor, the dense layers left as reported, the rest of the file untouched.

On a tiny model built here (one layer of each kind, never skipped) and on FastDepth (a real model,
from the `jetson-edge assets fetch` cache).
"""

from __future__ import annotations

import numpy as np
import pytest

from jetson_edge_perception.assets import asset_path
from jetson_edge_perception.errors import ModelFileError
from jetson_edge_perception.onnx_graph import load_graph
from jetson_edge_perception.pruning import format_report, prune_in_place, prune_model, satisfies_pattern
from tiny_onnx import LAYERS, tiny_model


def _check_pruned_file(source, output, report):
    """Pruned weights keep the 2 largest of every 4 input channels; every other byte of the file is unchanged."""
    before, after = load_graph(source), load_graph(output)
    assert len(before.data) == len(after.data)
    changed = np.flatnonzero(np.frombuffer(before.data, np.uint8) != np.frombuffer(after.data, np.uint8))
    inside_pruned = np.zeros(len(before.data), bool)
    for layer in report.layers:
        original, pruned = before.initializers[layer.plan.weight], after.initializers[layer.plan.weight]
        if layer.plan.prunable:
            assert satisfies_pattern(pruned, layer.plan.axis), layer.plan.name
            kept = pruned != 0
            assert np.array_equal(pruned[kept], original[kept])  # what stays is the original value
            groups = np.moveaxis(np.abs(original), layer.plan.axis, -1)
            groups = groups.reshape(*groups.shape[:-1], -1, 4)
            kept_groups = np.moveaxis(kept, layer.plan.axis, -1).reshape(groups.shape)
            # every kept weight is at least as large as every zeroed one of its group
            low_kept = np.where(kept_groups, groups, np.inf).min(axis=-1)
            high_zeroed = np.where(kept_groups, -np.inf, groups).max(axis=-1)
            assert np.all(low_kept >= high_zeroed), layer.plan.name
            start = np.frombuffer(pruned, np.uint8).__array_interface__['data'][0] - \
                np.frombuffer(after.data, np.uint8).__array_interface__['data'][0]
            inside_pruned[start:start + pruned.nbytes] = True
        else:
            assert np.array_equal(pruned, original), layer.plan.name
    assert inside_pruned[changed].all()  # nothing outside the pruned tensors changed


def test_tiny_model_prunes_what_can_take_2_4_and_says_why_the_rest_stays_dense(tmp_path):
    source = tiny_model(tmp_path / 'tiny.onnx')
    report = prune_model(source, tmp_path / 'tiny_2_4.onnx')
    by_name = {layer.plan.name: layer for layer in report.layers}
    assert list(by_name) == list(LAYERS)
    for name, (shape, expected) in LAYERS.items():
        layer = by_name[name]
        assert layer.plan.shape == shape
        if expected == 'pruned':
            assert layer.plan.prunable and layer.zeroed == layer.weights // 2, name
        else:
            assert layer.zeroed == 0 and expected.split(': ')[1] in layer.plan.dense_reason, name
    assert by_name['fc'].plan.axis == 1  # Gemm with transB: B is [out, in]
    assert report.zeroed == sum(layer.weights // 2 for layer in report.pruned)
    _check_pruned_file(source, tmp_path / 'tiny_2_4.onnx', report)
    table = format_report(report)
    assert 'pruned 2:4' in table and 'dense: depthwise convolution (group 16)' in table
    assert f'3 of 6 layers pruned to 2:4' in table and f'{report.share_zeroed:.1%}' in table


def test_pruned_tiny_model_runs(tmp_path):
    ort = pytest.importorskip('onnxruntime', reason='ONNX Runtime runs the pruned model')
    source = tiny_model(tmp_path / 'tiny.onnx')
    prune_model(source, tmp_path / 'pruned.onnx')
    x = np.random.default_rng(1).random((1, 3, 8, 8), np.float32)
    y, = ort.InferenceSession(str(tmp_path / 'pruned.onnx'), providers=['CPUExecutionProvider']).run(None, {'x': x})
    assert y.shape == (1, 8) and np.all(np.isfinite(y))


def test_skip_leaves_a_layer_dense_and_an_unknown_name_is_an_error(tmp_path):
    source = tiny_model(tmp_path / 'tiny.onnx')
    report = prune_model(source, tmp_path / 'out.onnx', skip=['pointwise', 'fc.weight'])
    dense = {layer.plan.name: layer.plan.dense_reason for layer in report.dense}
    assert dense['pointwise'] == dense['fc'] == 'listed with --skip'
    assert [layer.plan.name for layer in report.pruned] == ['reduce']
    with pytest.raises(ModelFileError, match='--skip names no Conv/Gemm/MatMul layer: pointwize'):
        prune_model(source, tmp_path / 'out2.onnx', skip=['pointwize'])
    with pytest.raises(ModelFileError, match='must not overwrite the original'):
        prune_model(source, source)


def test_groups_run_along_input_channels_and_keep_the_two_largest():
    weights = np.zeros((2, 8, 1, 2), np.float32)  # [K, C, R, S]
    weights[0, 0:4, 0, 1] = [1.0, -5.0, 3.0, 0.5]
    weights[1, 4:8, 0, 0] = [-2.0, 2.5, -0.1, 4.0]
    prune_in_place(weights, axis=1)
    np.testing.assert_array_equal(weights[0, 0:4, 0, 1], [0.0, -5.0, 3.0, 0.0])
    np.testing.assert_array_equal(weights[1, 4:8, 0, 0], [0.0, 2.5, 0.0, 4.0])
    assert satisfies_pattern(weights, 1)
    dense_along_s = np.ones((1, 4, 1, 4), np.float32)
    dense_along_s[0, :, 0, :2] = 0  # 2 of 4 zero along S, but no input-channel group of 4 has two zeros
    assert not satisfies_pattern(dense_along_s, 1)


def test_not_an_onnx_file_is_a_clear_error(tmp_path):
    bad = tmp_path / 'bad.onnx'
    bad.write_bytes(b'\x0a\xff\xff')
    with pytest.raises(ModelFileError, match='not a valid ONNX file'):
        prune_model(bad, tmp_path / 'out.onnx')
    with pytest.raises(ModelFileError, match='cannot read the ONNX file'):
        prune_model(tmp_path / 'absent.onnx', tmp_path / 'out.onnx')


def test_fastdepth_pruned_to_2_4(asset_cache, tmp_path):
    source = asset_path('fastdepth/fastdepth.onnx', cache_dir=asset_cache)
    report = prune_model(source, tmp_path / 'fastdepth_2_4.onnx')
    assert report.pruned and report.dense
    for layer in report.dense:
        shape = layer.plan.shape
        depthwise = shape[1] == 1
        odd = shape[1] % 16 or shape[0] % 8
        assert (depthwise and 'depthwise' in layer.plan.dense_reason) or (odd and not depthwise), layer.plan
    for layer in report.pruned:
        assert layer.plan.shape[1] % 16 == 0 and layer.plan.shape[0] % 8 == 0
    _check_pruned_file(source, tmp_path / 'fastdepth_2_4.onnx', report)
