"""Pruned against original: the agreement measures, the evaluation table's rows on the real photos, the
`jetson-edge model prune` command, and what a sparse model card changes in the TensorRT build."""

from __future__ import annotations

import argparse
import functools
import json
import shutil

import numpy as np
import pytest
import yaml

from conftest import CARDS
from fake_tensorrt import MAGIC, FakeState, FakeToolkit
from jetson_edge_perception import cli
from jetson_edge_perception.agreement import depth_correlation, mask_iou, match_detections
from jetson_edge_perception.assets import asset_path
from jetson_edge_perception.backends import BackendOptions, create_backend
from jetson_edge_perception.backends.tensorrt_backend import TensorRTBackend
from jetson_edge_perception.errors import ModelCardError
from jetson_edge_perception.model_card import load_card
from jetson_edge_perception.postprocess import Detections
from jetson_edge_perception.prune_evaluation import compare, format_evaluation, load_photos, run_model
from jetson_edge_perception.pruning import prune_model
from tiny_onnx import tiny_model


def _detections(*rows):
    """rows of (label id, score, x0, y0, x1, y1)."""
    array = np.array(rows, np.float32).reshape(-1, 6)
    return Detections(array[:, 2:], array[:, 1], array[:, 0].astype(np.int32))


def test_detections_match_by_label_and_iou():
    original = _detections((1, 0.9, 0, 0, 10, 10), (2, 0.8, 20, 20, 30, 30), (3, 0.7, 50, 50, 60, 60))
    changed = _detections((1, 0.7, 1, 1, 11, 11),      # same label, IoU 0.68: matched
                          (5, 0.9, 20, 20, 30, 30),    # same box, other label: not matched
                          (3, 0.6, 55, 50, 65, 60),    # same label, IoU 0.33: not matched
                          (4, 0.5, 80, 80, 90, 90))    # only in the changed model
    agreement = match_detections(original, changed)
    assert (agreement.original, agreement.changed, agreement.matched) == (3, 4, 1)
    assert agreement.recall == pytest.approx(1 / 3) and agreement.precision == pytest.approx(1 / 4)
    assert agreement.mean_score_change == pytest.approx(-0.2)
    empty = match_detections(Detections.empty(), Detections.empty())
    assert empty.recall == empty.precision == 1.0


def test_mask_iou_and_depth_correlation():
    a = np.zeros((4, 4), np.uint8)
    b = a.copy()
    a[:2] = 1
    b[1:3] = 1
    assert mask_iou(a, b) == pytest.approx(4 / 12)
    assert mask_iou(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8)) == 1.0
    depth = np.linspace(1, 4, 64, dtype=np.float32).reshape(8, 8)
    assert depth_correlation(depth, 2 * depth + 1) == pytest.approx(1.0)
    assert depth_correlation(depth, -depth) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match='differ in shape'):
        depth_correlation(depth, depth[:4])


def test_ssd_pruned_whole_has_one_row_per_photo_and_a_verdict(models_dir, images_dir, tmp_path):
    card = load_card(CARDS / 'ssd_mobilenet_v2_coco_onnx.yaml')
    source = models_dir / 'ssd_mobilenet_v2_coco_raw.onnx'
    prune_model(source, tmp_path / 'ssd_2_4.onnx')
    folder = tmp_path / 'photos'
    folder.mkdir()
    for name in ('person.jpg', 'dog.jpg'):  # two of the six keep the test short; the CLI report runs all
        shutil.copy(images_dir / name, folder)
    photos = load_photos(folder)
    names = [name for name, _ in photos]
    original = run_model(card, source, photos)
    evaluation = compare('detection', names, original, run_model(card, tmp_path / 'ssd_2_4.onnx', photos),
                         threshold=0.9)
    assert [row.photo for row in evaluation.rows] == names == ['dog.jpg', 'person.jpg']
    assert evaluation.total.detections.original == sum(len(r.detections) for r in original) > 0
    assert evaluation.flagged == (evaluation.agreement < 0.9)
    table = format_evaluation(evaluation).splitlines()
    assert table[0].split()[:6] == ['photo', 'original', 'pruned', 'matched', 'recall', 'precision']
    assert [line.split()[0] for line in table[1:-1]] == [*names, 'all']
    assert table[-1].startswith('FLAGGED: ' if evaluation.flagged else 'OK: ')
    itself = compare('detection', names, original, original, threshold=0.9)
    assert itself.agreement == 1.0 and not itself.flagged


def test_segmentation_evaluation_is_mask_iou(models_dir, images_dir, tmp_path):
    card = load_card(CARDS / 'selfie_segmentation_onnx.yaml')
    source = models_dir / 'selfie_segmentation.onnx'
    prune_model(source, tmp_path / 'selfie_2_4.onnx')
    photos = load_photos(images_dir)[:2]
    evaluation = compare('segmentation', [n for n, _ in photos], run_model(card, source, photos),
                         run_model(card, tmp_path / 'selfie_2_4.onnx', photos), threshold=0.5)
    assert all(0.0 <= row.measure <= 1.0 for row in evaluation.rows)
    assert format_evaluation(evaluation).splitlines()[0].split() == ['photo', 'mask', 'IoU']


def _prune_command(*argv):
    parser = argparse.ArgumentParser()
    cli.register_model(parser.add_subparsers())
    args = parser.parse_args(['model', 'prune', *map(str, argv)])
    return args.func(args)


def test_command_prunes_and_refuses_evaluation_without_a_card(tmp_path, capsys):
    source = tiny_model(tmp_path / 'tiny.onnx')
    assert _prune_command(source, '--pattern', '2:4', '--skip', 'fc', '-o', tmp_path / 'out.onnx') == 0
    out = capsys.readouterr().out
    assert 'fc' in out and 'dense: listed with --skip' in out and f'wrote {tmp_path / "out.onnx"}' in out
    assert _prune_command(source, '-o', tmp_path / 'out.onnx', '--evaluate', tmp_path) == 1
    assert '--evaluate needs --card' in capsys.readouterr().err


def test_fastdepth_evaluated_by_depth_correlation_from_the_command(asset_cache, images_dir, tmp_path, capsys):
    output = tmp_path / 'fastdepth_2_4.onnx'
    status = _prune_command(asset_path('fastdepth/fastdepth.onnx', cache_dir=asset_cache), '-o', output,
                            '--card', CARDS / 'fastdepth_onnx.yaml', '--evaluate', images_dir)
    lines = capsys.readouterr().out.strip().splitlines()
    table = lines[lines.index(next(line for line in lines if line.startswith('photo '))):]
    assert table[0].split() == ['photo', 'depth', 'correlation']
    names = sorted(p.name for p in images_dir.iterdir())
    assert [line.split()[0] for line in table[1:-1]] == [*names, 'all']
    assert all(-1.0 <= float(line.split()[1]) <= 1.0 for line in table[1:-1])
    assert status == (2 if table[-1].startswith('FLAGGED: ') else 0) and 'mean depth correlation' in table[-1]
    card = load_card(tmp_path / 'fastdepth_2_4.yaml')
    assert card.sparsity == '2:4' and card.file == output.name and card.task == 'depth'


def test_card_sparsity_field(tmp_path):
    data = yaml.safe_load((CARDS / 'selfie_segmentation_onnx.yaml').read_text())
    path = tmp_path / 'card.yaml'
    path.write_text(yaml.safe_dump({**data, 'sparsity': '2:4'}))
    assert load_card(path).sparsity == '2:4'
    path.write_text(yaml.safe_dump(data) + 'sparsity: 2:4\n')  # unquoted: YAML 1.1 reads 124
    with pytest.raises(ModelCardError, match="sparsity: write the pattern quoted"):
        load_card(path)
    path.write_text(yaml.safe_dump({**data, 'sparsity': '1:4'}))
    with pytest.raises(ModelCardError, match="sparsity: '1:4' is not one of 2:4"):
        load_card(path)


def test_sparse_card_builds_with_sparse_weights_under_its_own_engine_key(models_dir, tmp_path, monkeypatch):
    state = FakeState()
    monkeypatch.setattr(TensorRTBackend, 'toolkit_factory', functools.partial(FakeToolkit, state))
    dense = load_card(CARDS / 'selfie_segmentation_onnx.yaml')
    from dataclasses import replace
    options = BackendOptions(search_dirs=(str(models_dir),), engine_cache_dir=tmp_path)
    backends = [create_backend('tensorrt', card, options=options) for card in (dense, replace(dense, sparsity='2:4'))]
    settings = [backend.build_settings() for backend in backends]
    assert [s.sparse_weights for s in settings] == [False, True]
    paths = [backend.engine_path(build=True) for backend in backends]
    assert paths[0] != paths[1] and '.sparse.' in paths[1].name and len(state.builds) == 2
    assert json.loads(paths[1].with_suffix('.engine.json').read_text())['key']['sparse_weights'] is True


def test_toolkit_sets_the_sparse_weights_flag(models_dir, tmp_path, monkeypatch):
    import sys
    from fake_tensorrt import FakeCuda, fake_tensorrt_module
    from jetson_edge_perception.backends import tensorrt_toolkit
    from jetson_edge_perception.backends.engine_cache import BuildSettings
    cuda = FakeCuda()
    monkeypatch.setitem(sys.modules, 'tensorrt', fake_tensorrt_module(cuda))
    monkeypatch.setattr(tensorrt_toolkit, 'open_cuda', lambda: cuda)
    toolkit = tensorrt_toolkit.TensorRTToolkit()
    onnx = models_dir / 'selfie_segmentation.onnx'
    for sparse in (False, True):
        engine = toolkit.build(onnx, BuildSettings(precision='fp16', sparse_weights=sparse))
        flags = json.loads(engine[len(MAGIC):])['flags']
        assert ('SPARSE_WEIGHTS' in flags) == sparse and 'FP16' in flags
