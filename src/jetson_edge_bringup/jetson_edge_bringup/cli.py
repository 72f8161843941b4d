"""The ``jetson-edge`` command.

Verbs are thin: each parses its arguments and calls a function of the bringup library. Packages
add verbs through the ``jetson_edge.cli`` entry point group (``register(subparsers)``) and
benchmarks through ``jetson_edge.benchmarks`` (``main(argv) -> dict``). This module is the one
place that turns errors into exit codes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path

import yaml

from jetson_edge_common.profiles import (ProfileError, available_profiles, detect_profile,
                                         load_profile)

EXIT_USAGE = 2


class CliError(RuntimeError):
    """A user-facing failure: printed as ``jetson-edge: error: <message>``, exit code 1."""


def resolve_profile_name(name: str, *, root: str = '/') -> str:
    if name != 'auto':
        return name
    chosen, why = detect_profile(root=root)
    print(f'jetson-edge: {why}', file=sys.stderr)
    return chosen


# --- up ---------------------------------------------------------------------------------------

def cmd_up(args) -> int:
    return _supervise(_prepared(args, args.profile), args)


def _supervise(plan, args) -> int:
    """Runs ``plan`` (``--params-dir``, ``--duration``) under the supervisor."""
    from jetson_edge_bringup.plan import write_parameter_files
    from jetson_edge_bringup.supervisor import Supervisor, commands_for

    if not plan.nodes:
        raise CliError(f'profile {plan.profile!r} enables no nodes')
    params_dir = Path(args.params_dir) if args.params_dir else Path(
        tempfile.mkdtemp(prefix=f'jetson-edge-{plan.profile}-'))
    write_parameter_files(plan, params_dir)
    print(f'jetson-edge: parameter files of profile {plan.profile!r} in {params_dir}', file=sys.stderr)
    commands = commands_for(plan)  # fails before starting anything if an executable is missing
    supervisor = Supervisor(plan, lambda node: commands[node.key])

    def tell_where_to_look() -> None:
        for line in where_to_look(plan, profile=args.profile, only=args.only):
            supervisor.say(line)
    return supervisor.run(duration_s=args.duration, when_up=tell_where_to_look)


def where_to_look(plan, *, profile: str, only: str | None) -> list[str]:
    """What ``up`` says once every node has started: how to watch the running suite."""
    from jetson_edge_bringup.plan import VIEWER_PACKAGE, viewer_addresses

    status = f'jetson-edge status --profile {profile}' + (f' --only {only}' if only else '')
    lines = [f'all {len(plan.nodes)} nodes started; watch the suite with `{status}` in another '
             f'terminal (node levels, topic rates, temperatures, perception, RT loop)']
    lines += [f'live view at {address}: open it in Foxglove or Lichtblick (Open connection > Foxglove '
              f'WebSocket), layout share/{VIEWER_PACKAGE}/layouts/jetson_edge.json'
              for address in viewer_addresses(plan)]
    return lines


def _prepared(args, profile):
    """The plan of ``profile`` (a name, ``auto`` or a loaded profile) and ``--only`` for a verb
    that starts nodes (hardware-checked)."""
    from jetson_edge_bringup.plan import prepare_plan

    plan, notes = prepare_plan(profile, only=_split(args.only), root=args.root,
                               allow_sim_on_hardware=args.allow_sim_on_hardware)
    for note in notes:
        print(f'jetson-edge: {note}', file=sys.stderr)
    return plan


def cmd_rehearse(args) -> int:
    from jetson_edge_bringup.rehearsal import card_task, rehearsal_profile

    rehearsal = rehearsal_profile(load_profile(resolve_profile_name(args.profile, root=args.root)),
                                  load_profile(args.stand_ins), card_task=card_task)
    print(f'jetson-edge: rehearsing {rehearsal.profile.name!r}: stand-ins from {args.stand_ins!r} '
          f'({", ".join(rehearsal.stand_ins)}); overrides:', file=sys.stderr)
    for override in rehearsal.overrides:
        note = (' (the robot\'s card names a file on its disk; the registry-fetched card of the '
                'same task runs instead)' if override.kind == 'model_card' else '')
        print(f'  {override}{note}', file=sys.stderr)
    return _supervise(_prepared(args, rehearsal.profile), args)


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(',') if v.strip()] if value else None


# --- profile ----------------------------------------------------------------------------------

def cmd_profile_show(args) -> int:
    profile = load_profile(resolve_profile_name(args.profile, root=args.root))
    if args.json:
        print(json.dumps(profile.data, indent=2))
    else:
        print(f'# resolved profile {profile.name!r} ({profile.path})')
        print(yaml.safe_dump(profile.data, sort_keys=False), end='')
    return 0


def cmd_profile_list(args) -> int:
    for name in available_profiles():
        try:
            profile = load_profile(name, check_parameters=False)
            print(f'{name:<12} {profile.data.get("description", "")}')
        except ProfileError as exc:
            print(f'{name:<12} INVALID: {str(exc).splitlines()[0]}')
    return 0


def cmd_profile_validate(args) -> int:
    names = args.profiles or available_profiles()
    failed = 0
    for name in names:
        try:
            load_profile(name)
            print(f'{name}: ok')
        except ProfileError as exc:
            failed += 1
            print(str(exc), file=sys.stderr)
    return 1 if failed else 0


def cmd_plan(args) -> int:
    from jetson_edge_bringup.plan import build_plan, write_parameter_files

    profile = load_profile(resolve_profile_name(args.profile, root=args.root))
    plan = build_plan(profile).select(_split(args.only))
    if args.params_dir:
        write_parameter_files(plan, args.params_dir)
    for node in plan.nodes:
        print(f'{node.key}: {node.package}/{node.executable} as {node.fully_qualified_name}'
              f' (respawn {"on" if node.respawn else "off"}'
              f'{", cpus " + ",".join(map(str, node.cpu_affinity)) if node.cpu_affinity else ""}'
              f'{", nice " + str(node.nice) if node.nice else ""})')
        if node.params_file:
            print(f'    params: {node.params_file}')
    for process in plan.processes():
        if process.composed:
            print(f'process {process.key}: {", ".join(m.key for m in process.members)} '
                  f'(one node_container)')
    return 0


def cmd_soak(args) -> int:
    from jetson_edge_bringup.soak import run_soak

    plan = _prepared(args, args.profile)
    log = open(args.log, 'w') if args.log else None
    try:
        return run_soak(plan, minutes=args.minutes, warmup_s=args.warmup, log=log)
    finally:
        if log:
            log.close()


def cmd_docs(args) -> int:
    from jetson_edge_bringup import node_docs

    if args.write:
        node_docs.write(Path(args.write))
        print(f'node tables written into {args.write}')
        return 0
    if args.check:
        if node_docs.check(Path(args.check)):
            print(f'{args.check}: node tables up to date')
            return 0
        raise CliError(f'{args.check}: node tables differ from the parameter declarations; '
                       f'run `jetson-edge docs --write {args.check}`')
    print(node_docs.render())
    return 0


# --- record, play -----------------------------------------------------------------------------

def cmd_record(args) -> int:
    from jetson_edge_bringup.bag import BagError
    from jetson_edge_bringup.recorder import run_record

    directory = args.output or time.strftime('rosbag2_%Y_%m_%d-%H_%M_%S')
    try:
        run_record(directory, topics=args.topics or None, duration_s=args.duration)
    except BagError as exc:
        raise CliError(str(exc)) from None
    return 0


def cmd_play(args) -> int:
    from jetson_edge_bringup.bag import BagError
    from jetson_edge_bringup.player import run_play

    try:
        run_play(args.directory, rate=args.rate, loop=args.loop, delay_s=args.delay)
    except BagError as exc:
        raise CliError(str(exc)) from None
    return 0


# --- status ---------------------------------------------------------------------------------

def cmd_status(args) -> int:
    from jetson_edge_bringup.plan import build_plan
    from jetson_edge_bringup.status_collector import NoAnswer, run_status

    plan = build_plan(load_profile(resolve_profile_name(args.profile, root=args.root)))
    try:
        run_status(plan.select(_split(args.only)), once=args.once, wait_s=args.wait,
                   timeout_s=args.timeout)
    except NoAnswer as exc:
        raise CliError(str(exc)) from None
    return 0


# --- doctor, bench ----------------------------------------------------------------------------

def cmd_doctor(args) -> int:
    from jetson_edge_bringup.doctor import format_checks, run_checks

    print(format_checks(run_checks(root=args.root)))
    return 0


def benchmarks() -> dict:
    return {ep.name: ep for ep in entry_points(group='jetson_edge.benchmarks')}


def cmd_bench(args) -> int:
    found = benchmarks()
    if args.name not in found:
        known = ', '.join(sorted(found)) or 'none installed'
        raise CliError(f'no benchmark {args.name!r} (available: {known}); the benchmarks come '
                       'with the jetson_edge_bench package, which a robot install leaves out: '
                       'colcon build --packages-up-to jetson_edge_bench')
    result = found[args.name].load()(list(args.bench_args))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=float) + '\n')
        print(f'numbers written to {args.json}')
    return 0


# --- parser -----------------------------------------------------------------------------------

def _allow_sim_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--allow-sim-on-hardware', action='store_true',
                        help='start sim-only nodes (virtual sensors, emulators, the thermal model) '
                        'even on a machine with a device tree (a Jetson): a bench test on purpose')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='jetson-edge', description='Run, inspect and measure the jetson_edge suite.')
    parser.add_argument('--root', default='/', help='filesystem root for hardware detection '
                        '(reads <root>/proc/device-tree/model; for tests and dress rehearsals)')
    sub = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')

    up = sub.add_parser('up', help='start the profile\'s nodes under the supervisor')
    up.add_argument('--profile', default='sim', help='profile name, a path to a YAML file, or auto '
                    '(default: sim)')
    up.add_argument('--only', help='comma-separated node keys to start, with their companions '
                    'and the suite monitor (default: all enabled)')
    up.add_argument('--duration', type=float, help='stop after this many seconds')
    up.add_argument('--params-dir', help='where to write the nodes\' parameter files '
                    '(default: a new temporary directory)')
    _allow_sim_argument(up)
    up.set_defaults(func=cmd_up)

    rehearse = sub.add_parser('rehearse', help='start a robot profile here, its hardware endpoints '
                              'on the sim\'s stand-ins (a dress rehearsal)')
    rehearse.add_argument('profile', help='robot profile name, path, or auto')
    rehearse.add_argument('--stand-ins', default='sim', help='profile whose endpoint values and '
                          'sim-only nodes stand in for the hardware (default: sim)')
    rehearse.add_argument('--only', help='comma-separated node keys to start (default: all)')
    rehearse.add_argument('--duration', type=float, help='stop after this many seconds')
    rehearse.add_argument('--params-dir', help='where to write the nodes\' parameter files')
    _allow_sim_argument(rehearse)
    rehearse.set_defaults(func=cmd_rehearse)

    prof = sub.add_parser('profile', help='inspect profiles')
    prof_sub = prof.add_subparsers(dest='profile_command', required=True, metavar='ACTION')
    show = prof_sub.add_parser('show', help='print the resolved profile')
    show.add_argument('profile', nargs='?', default='sim')
    show.add_argument('--json', action='store_true', help='JSON instead of YAML')
    show.set_defaults(func=cmd_profile_show)
    prof_sub.add_parser('list', help='list the profiles').set_defaults(func=cmd_profile_list)
    val = prof_sub.add_parser('validate', help='validate profiles (default: all)')
    val.add_argument('profiles', nargs='*')
    val.set_defaults(func=cmd_profile_validate)

    plan = sub.add_parser('plan', help='print the launch plan of a profile')
    plan.add_argument('--profile', default='sim')
    plan.add_argument('--only')
    plan.add_argument('--params-dir', help='also write the parameter files here')
    plan.set_defaults(func=cmd_plan)

    soak = sub.add_parser('soak', help='run the suite for minutes and report memory, rates, restarts')
    soak.add_argument('--profile', default='sim')
    soak.add_argument('--minutes', type=float, default=10.0)
    soak.add_argument('--only')
    soak.add_argument('--warmup', type=float, help='seconds excluded from the checks '
                      '(default: 20%% of the run, at most 60)')
    soak.add_argument('--log', help='write the nodes\' output here instead of the terminal')
    _allow_sim_argument(soak)
    soak.set_defaults(func=cmd_soak)

    docs = sub.add_parser('docs', help='per-node topic and parameter tables, from the declarations')
    mode = docs.add_mutually_exclusive_group()
    mode.add_argument('--write', metavar='README', help='replace the generated section of this file')
    mode.add_argument('--check', metavar='README', help='fail if this file\'s section is stale')
    docs.set_defaults(func=cmd_docs)

    record = sub.add_parser('record', help='record topics into a rosbag2 directory (MCAP storage) '
                            'until Ctrl-C')
    record.add_argument('topics', nargs='*', help='topics to record (default: every topic, '
                        'including those that appear while recording)')
    record.add_argument('-o', '--output', help='directory to create (default: '
                        'rosbag2_<date>-<time>, as ros2 bag names it)')
    record.add_argument('--duration', type=float, help='stop after this many seconds')
    record.set_defaults(func=cmd_record)

    play = sub.add_parser('play', help='publish a recording back with its timing')
    play.add_argument('directory', help='a rosbag2 directory with MCAP storage')
    play.add_argument('--rate', type=float, default=1.0, help='playback speed factor (default: 1)')
    play.add_argument('--loop', action='store_true', help='start again at the end, until Ctrl-C')
    play.add_argument('--delay', type=float, default=1.0, help='seconds between creating the '
                      'publishers and the first message, for subscribers to match (default: 1)')
    play.set_defaults(func=cmd_play)

    status = sub.add_parser('status', help='the running suite at a glance: every node\'s level, '
                            'topic rates against the plan, temperatures, power mode, perception, '
                            'RT loop (live until Ctrl-C)')
    status.add_argument('--profile', default='sim', help='the profile the suite runs, for its plan '
                        '(default: sim, as for up)')
    status.add_argument('--only', help='the node keys the suite was started with (as for up)')
    status.add_argument('--once', action='store_true', help='print one view and exit (non-zero '
                        'when nothing answers within --timeout)')
    status.add_argument('--wait', type=float, default=2.5, help='with --once: seconds to listen '
                        'after the first message before printing (default: 2.5)')
    status.add_argument('--timeout', type=float, default=10.0, help='with --once: seconds to wait '
                        'for a first message (default: 10)')
    status.set_defaults(func=cmd_status)

    sub.add_parser('doctor', help='check this machine for the suite').set_defaults(func=cmd_doctor)

    bench = sub.add_parser('bench', help='run a benchmark and print its table')
    bench.add_argument('name', help='benchmark name (lidar, perception, imu, power, rt, ...)')
    bench.add_argument('--json', help='also write the numbers to this file')
    bench.add_argument('bench_args', nargs=argparse.REMAINDER,
                       help='arguments passed to the benchmark (after --)')
    bench.set_defaults(func=cmd_bench)

    for ep in entry_points(group='jetson_edge.cli'):
        ep.load()(sub)
    return parser


def _split_bench_args(args) -> None:
    """``bench NAME --json F -- --quick``: ``--json`` is ours wherever it stands before ``--``;
    everything else goes to the benchmark."""
    rest, passed = list(args.bench_args), []
    while rest:
        arg = rest.pop(0)
        if arg == '--':
            passed += rest
            break
        if arg == '--json' and rest:
            args.json = rest.pop(0)
        elif arg.startswith('--json='):
            args.json = arg.split('=', 1)[1]
        else:
            passed.append(arg)
    args.bench_args = passed


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == 'bench':
        _split_bench_args(args)
    try:
        return int(args.func(args) or 0)
    except (ProfileError, CliError) as exc:
        print(f'jetson-edge: error: {exc}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
