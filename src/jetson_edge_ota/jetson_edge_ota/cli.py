"""``jetson-edge ota ...``: thin verbs over ``repository`` (publisher) and ``robot`` (robot).

Registered through the ``jetson_edge.cli`` entry-point group; ``python -m jetson_edge_ota``
runs the same verbs standalone. This is the one place exceptions become exit codes:
0 success, 1 operation failed, 2 bad configuration, 3 verification refused (an attack or
corruption: nothing installed), 4 health check failed (rolled back).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from .bundle import GENERIC_MODEL, BundleSources, build_bundle
from .errors import (ConfigError, HealthCheckFailed, OtaError, UnsafeBundleError,
                     VerificationError)
from .health import health_check_from_spec
from .progress import ProgressBar
from .repository import RepositoryPolicy, RepositoryWriter
from .robot import Robot

DEFAULT_STATE_DIR = '/var/lib/jetson-edge/ota'
STATE_DIR_ENV = 'JETSON_EDGE_OTA_STATE_DIR'
LOG = logging.getLogger('jetson_edge_ota')


def _exit_code(exc: OtaError) -> int:
    if isinstance(exc, ConfigError):
        return 2
    if isinstance(exc, (VerificationError, UnsafeBundleError)):
        return 3
    if isinstance(exc, HealthCheckFailed):
        return 4
    return 1


def _with_logging(func: Callable[[argparse.Namespace], int], *, robot: bool):
    """Run a verb with step logging to stderr (and to the robot's ota.log) and exit codes."""
    def run(args: argparse.Namespace) -> int:
        handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
        handlers[0].setFormatter(logging.Formatter('ota: %(message)s'))
        if robot:
            root = Path(args.state_dir)
            try:
                root.mkdir(parents=True, exist_ok=True)
                file_handler = logging.FileHandler(root / 'ota.log')
                file_handler.setFormatter(logging.Formatter(
                    '%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s'))
                handlers.append(file_handler)
            except OSError as exc:
                print(f'ota: warning: cannot write {root / "ota.log"}: {exc}', file=sys.stderr)
        level = logging.DEBUG if getattr(args, 'verbose', False) else logging.INFO
        previous_level = LOG.level
        LOG.setLevel(level)
        for handler in handlers:
            LOG.addHandler(handler)
        try:
            return func(args)
        except OtaError as exc:
            LOG.error('error: %s', exc)
            return _exit_code(exc)
        finally:
            for handler in handlers:
                LOG.removeHandler(handler)
                handler.close()
            LOG.setLevel(previous_level)
    return run


def _pairs(values: list[str], what: str, convert: Callable[[str], object] = str) -> dict:
    out = {}
    for item in values or []:
        key, sep, value = item.partition('=')
        if not sep or not key or not value:
            raise ConfigError(f'{what} must look like NAME=VALUE, got {item!r}')
        try:
            out[key] = convert(value)
        except ValueError as exc:
            raise ConfigError(f'{what} {item!r}: {exc}') from exc
    return out


# -- publisher verbs ---------------------------------------------------------------------

def _keys_init(args: argparse.Namespace) -> int:
    policy = RepositoryPolicy().with_overrides(
        keys=_pairs(args.keys, '--keys', int), thresholds=_pairs(args.threshold, '--threshold', int),
        expiry=_pairs(args.expiry, '--expiry'))
    RepositoryWriter(Path(args.repo), Path(args.keys_dir)).init(policy)
    print(f'created repository {args.repo} (keys in {args.keys_dir}); give robots '
          f'{Path(args.repo) / "metadata" / "root.json"} as their trusted root')
    for role, rp in policy.roles.items():
        print(f'  {role:9s} {rp.threshold} of {rp.keys} key(s), expires after {rp.expiry}')
    return 0


def _publish(args: argparse.Namespace) -> int:
    engines = {model: Path(path) for model, path in _pairs(args.engines, '--engines').items()}
    sources = BundleSources(workspace=Path(args.workspace),
                            config=Path(args.config) if args.config else None,
                            models=Path(args.models) if args.models else None, engines=engines)
    work = Path(args.work_dir) if args.work_dir else Path(args.repo).parent / '.ota-build'
    models = sorted(engines) + ([] if args.no_generic else [GENERIC_MODEL])
    if not models:
        raise ConfigError('nothing to publish: give --engines MODEL=DIR or allow the generic '
                          'bundle')
    bundles = []
    for model in models:
        suffix = '.tar.gz' if not args.no_compress else '.tar'
        info = build_bundle(work / args.version / f'{model}{suffix}', version=args.version,
                            jetson_model=model, sources=sources, compress=not args.no_compress)
        LOG.info('bundle %s: %d files, %.1f MiB unpacked, %.1f MiB packed, sha256 %s', model,
                 info.files, info.extracted_size / (1 << 20), info.length / (1 << 20),
                 info.sha256[:16])
        bundles.append(info)
    result = RepositoryWriter(Path(args.repo), Path(args.keys_dir)).publish(
        bundles, notes=args.notes)
    print(f'published {args.version} ({", ".join(models)}): targets v{result.targets_version}, '
          f'snapshot v{result.snapshot_version}, timestamp v{result.timestamp_version}')
    return 0


def _refresh(args: argparse.Namespace) -> int:
    result = RepositoryWriter(Path(args.repo), Path(args.keys_dir)).refresh(
        include_targets=args.targets)
    print(f'refreshed: snapshot v{result.snapshot_version}, timestamp v{result.timestamp_version}')
    return 0


# -- robot verbs -------------------------------------------------------------------------

def _enroll(args: argparse.Namespace) -> int:
    model = args.jetson_model
    if model == 'auto':
        from .jetson_model import detect_jetson_model   # reads the profiles: only when asked
        # `jetson-edge --root R` (hardware detection root, for tests) applies here too.
        model, explanation = detect_jetson_model(root=getattr(args, 'root', None) or '/')
        LOG.info('jetson model: %s', explanation)
    try:
        root_bytes = Path(args.trusted_root).read_bytes()
    except OSError as exc:
        raise ConfigError(f'cannot read trusted root {args.trusted_root}: {exc}') from exc
    Robot(Path(args.state_dir)).enroll(repo_url=args.repo_url, trusted_root=root_bytes,
                                  jetson_model=model, keep=args.keep,
                                  health_check=args.health_check,
                                  health_timeout_s=args.health_timeout)
    print(f'enrolled {args.state_dir} for {args.repo_url} as {model}')
    return 0


def _check(args: argparse.Namespace) -> int:
    result = Robot(Path(args.state_dir)).check()
    if args.json:
        print(json.dumps(asdict(result)))
    elif result.update_available:
        print(f'update available: {result.installed or "nothing"} -> {result.available} '
              f'({result.jetson_model} bundle)')
    else:
        print(f'up to date: {result.installed} (newest is {result.available})')
    return 0


def _health(args: argparse.Namespace):  # noqa: ANN202
    return health_check_from_spec(args.health_check) if args.health_check else None


def _install(args: argparse.Namespace) -> int:
    progress = None if args.no_progress else ProgressBar('download')
    result = Robot(Path(args.state_dir)).install(
        version=args.version, force=args.force, health_check=_health(args),
        defer_commit=args.defer_commit, progress=progress)
    if result.outcome == 'up-to-date':
        print(f'{result.version} is already installed')
    elif result.outcome == 'pending':
        print(f'{result.version} is current on trial; run `jetson-edge ota commit` to '
              'health-check and commit it (it rolls back by itself after a second reboot)')
    else:
        print(f'installed and committed {result.version} (was {result.previous_version}) in '
              f'{result.seconds:.1f} s; health: {result.health}')
    return 0


def _commit(args: argparse.Namespace) -> int:
    result = Robot(Path(args.state_dir)).commit(health_check=_health(args))
    if result.outcome == 'nothing-pending':
        print(f'nothing to commit; current is {result.version}')
    else:
        print(f'committed {result.version}; health: {result.health}')
    return 0


def _rollback(args: argparse.Namespace) -> int:
    slot = Robot(Path(args.state_dir)).rollback(version=args.to)
    print(f'rolled back to {slot.version} ({slot.slot})' if slot else
          'rolled back the trial release; no release is installed')
    return 0


def _status(args: argparse.Namespace) -> int:
    report = Robot(Path(args.state_dir)).status(verify_hashes=args.verify)
    if args.json:
        print(json.dumps(asdict(report), indent=1, default=str))
        return 0 if not report.problems else 1
    current = report.current
    print(f'current:  {current.version + " (" + current.slot + ")" if current else "none"}')
    if report.pending:
        print(f'pending:  {report.pending["to_slot"]["version"]} on trial '
              f'(step {report.pending["step"]}); run `jetson-edge ota commit`')
    print(f'previous: {", ".join(p.version for p in report.previous) or "none"}')
    if report.last_result:
        print(f'last:     {report.last_result.get("result")} {report.last_result.get("version")}'
              f' {report.last_result.get("reason", "")}'.rstrip())
    if report.recovered:
        print(f'recovery: {report.recovered}')
    for problem in report.problems:
        print(f'PROBLEM:  {problem}')
    return 0 if not report.problems else 1


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``ota`` and its sub-commands to a ``jetson-edge`` sub-parser collection."""
    ota = subparsers.add_parser(
        'ota', help='signed over-the-air updates (publish, install, rollback)',
        description='Signed over-the-air updates: publish releases into a TUF repository '
        '(build machine); install, health-check, commit and roll back (robot).')
    verbs = ota.add_subparsers(dest='ota_verb', metavar='VERB', required=True)

    publisher = argparse.ArgumentParser(add_help=False)
    publisher.add_argument('--repo', required=True, help='repository directory (served as-is)')
    publisher.add_argument('--keys-dir', required=True, help='directory of signing keys')

    robot = argparse.ArgumentParser(add_help=False)
    robot.add_argument('--state-dir', default=os.environ.get(STATE_DIR_ENV, DEFAULT_STATE_DIR),
                       help=f'OTA state directory (default ${STATE_DIR_ENV} or '
                       f'{DEFAULT_STATE_DIR})')
    robot.add_argument('-v', '--verbose', action='store_true')

    keys = verbs.add_parser('keys', help='signing key management')
    key_verbs = keys.add_subparsers(dest='keys_verb', metavar='VERB', required=True)
    init = key_verbs.add_parser('init', parents=[publisher],
                                help='generate keys and an empty signed repository')
    init.add_argument('--keys', action='append', metavar='ROLE=N',
                      help='number of keys for a role (default 1 each)')
    init.add_argument('--threshold', action='append', metavar='ROLE=N',
                      help='signatures a role needs (default 1 each)')
    init.add_argument('--expiry', action='append', metavar='ROLE=DURATION',
                      help='metadata lifetime, e.g. root=365d timestamp=1d (defaults: root 365d, '
                      'targets 90d, snapshot 7d, timestamp 1d)')
    init.set_defaults(func=_with_logging(_keys_init, robot=False))

    publish = verbs.add_parser('publish', parents=[publisher],
                               help='bundle a release and sign it into the repository')
    publish.add_argument('--version', required=True, help='release version, MAJOR.MINOR.PATCH')
    publish.add_argument('--workspace', required=True, help='built workspace (install tree)')
    publish.add_argument('--config', help='configuration directory (profiles, parameters)')
    publish.add_argument('--models', help='model files and model cards')
    publish.add_argument('--engines', action='append', metavar='MODEL=DIR',
                         help='prebuilt engines for one Jetson model (repeatable); one bundle '
                         'per model')
    publish.add_argument('--no-generic', action='store_true',
                         help='do not also publish the engine-less generic bundle')
    publish.add_argument('--no-compress', action='store_true',
                         help='plain tar (engines and models barely compress)')
    publish.add_argument('--notes', default='', help='release notes for the index')
    publish.add_argument('--work-dir', help='where bundles are built (default next to --repo)')
    publish.set_defaults(func=_with_logging(_publish, robot=False))

    refresh = verbs.add_parser('refresh', parents=[publisher],
                               help='re-sign snapshot and timestamp before they expire')
    refresh.add_argument('--targets', action='store_true', help='re-sign targets too')
    refresh.set_defaults(func=_with_logging(_refresh, robot=False))

    enroll = verbs.add_parser('enroll', parents=[robot],
                              help='pin the trusted root and the repository on this robot')
    enroll.add_argument('--repo-url', required=True)
    enroll.add_argument('--trusted-root', required=True, help="the repository's root.json")
    enroll.add_argument('--jetson-model', default='auto',
                        help='bundle to install (default: detect from the device tree)')
    enroll.add_argument('--keep', type=int, default=2, help='previous releases to keep')
    enroll.add_argument('--health-check', default='diagnostics',
                        help='diagnostics | diagnostics:<start cmd> | cmd:<cmd> | none')
    enroll.add_argument('--health-timeout', type=float, default=60.0, help='seconds')
    enroll.set_defaults(func=_with_logging(_enroll, robot=True))

    check = verbs.add_parser('check', parents=[robot], help='is a newer release available?')
    check.add_argument('--json', action='store_true')
    check.set_defaults(func=_with_logging(_check, robot=True))

    install = verbs.add_parser('install', parents=[robot],
                               help='install, health-check and commit the newest release')
    install.add_argument('--version', help='install this release instead of the newest')
    install.add_argument('--force', action='store_true',
                         help='allow an older or the same release (local override)')
    install.add_argument('--defer-commit', action='store_true',
                         help='leave the release on trial for a later `ota commit`')
    install.add_argument('--health-check', help='override the enrolled health check')
    install.add_argument('--no-progress', action='store_true')
    install.set_defaults(func=_with_logging(_install, robot=True))

    commit = verbs.add_parser('commit', parents=[robot],
                              help='health-check and commit a release on trial (boot time)')
    commit.add_argument('--health-check', help='override the enrolled health check')
    commit.set_defaults(func=_with_logging(_commit, robot=True))

    rollback = verbs.add_parser('rollback', parents=[robot],
                                help='make the previous kept release current again')
    rollback.add_argument('--to', help='version of a kept release (default: the newest kept)')
    rollback.set_defaults(func=_with_logging(_rollback, robot=True))

    status = verbs.add_parser('status', parents=[robot],
                              help='recover interrupted work (run at boot) and report')
    status.add_argument('--verify', action='store_true', help='re-hash every file of current')
    status.add_argument('--json', action='store_true')
    status.set_defaults(func=_with_logging(_status, robot=True))
    return ota


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: ``python -m jetson_edge_ota ota <verb> ...``."""
    parser = argparse.ArgumentParser(prog='jetson-edge')
    register(parser.add_subparsers(dest='command', required=True))
    args = parser.parse_args(argv)
    return args.func(args)
