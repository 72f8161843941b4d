"""Stand-ins for ``nvpmodel`` and ``jetson_clocks`` acting on the thermal model's tree.

They emulate the command lines the actuators use (``nvpmodel -m ID``, ``nvpmodel -q``,
``jetson_clocks [--show | --store FILE | --restore FILE]``) and their output format, writing
the same files the real tools change (nvpmodel's status file, the GPU devfreq ``min_freq``).
The sim profile sets the manager's commands to::

    python -m jetson_edge_sim.power.sim_tools --root ROOT --layout sim nvpmodel
    python -m jetson_edge_sim.power.sim_tools --root ROOT --layout sim jetson_clocks

:func:`in_process_runner` runs the same :func:`main` without a new process, for tests and the
benchmark; :data:`BACKEND` pairs the two for the power manager, which finds it through the
``jetson_edge_power.tool_backends`` entry point (``actuator_backend: sim``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from jetson_edge_power.actuators import ToolBackend
from jetson_edge_power.hardware import layout_of
from jetson_edge_power.layout import Layout
from jetson_edge_power.sysfs import SysfsRoot, candidates


def _status_path(layout: Layout, root: SysfsRoot) -> Path:
    cands = candidates(layout.nvpmodel_status) or ('/var/lib/nvpmodel/status',)
    return Path(root.path(cands[0]))


def _nvpmodel(layout: Layout, root: SysfsRoot, args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog='nvpmodel')
    parser.add_argument('-m', '--mode', type=int)
    parser.add_argument('-q', '--query', action='store_true')
    opts, _unknown = parser.parse_known_args(args)
    status = _status_path(layout, root)
    if opts.mode is not None:
        if layout.mode(opts.mode) is None:
            print(f'NVPM ERROR: Invalid power mode ID: {opts.mode}', file=sys.stderr)
            return 1
        try:
            status.parent.mkdir(parents=True, exist_ok=True)
            status.write_text(f'pmode:{opts.mode:04d} fmode:quiet\n', encoding='ascii')
        except PermissionError as exc:
            print(f'NVPM ERROR: failed to write {status}: Permission denied ({exc})',
                  file=sys.stderr)
            return 255
    if opts.query:
        try:
            text = status.read_text(encoding='ascii')
            mode_id = int(text.split('pmode:')[1].split()[0])
        except (OSError, IndexError, ValueError):
            print('NVPM ERROR: failed to read the current power mode', file=sys.stderr)
            return 1
        mode = layout.mode(mode_id)
        print(f'NV Power Mode: {mode.name if mode else "UNKNOWN"}')
        print(mode_id)
    return 0


def _gpu_devfreq(layout: Layout, root: SysfsRoot) -> Path | None:
    found = root.resolve(layout.gpu_freq)
    return Path(found).parent if found else None


def _jetson_clocks(layout: Layout, root: SysfsRoot, args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog='jetson_clocks')
    parser.add_argument('--show', action='store_true')
    parser.add_argument('--store', nargs='?', const='l4t_dfs.conf')
    parser.add_argument('--restore', nargs='?', const='l4t_dfs.conf')
    parser.add_argument('--fan', action='store_true')
    opts = parser.parse_args(args)
    devfreq = _gpu_devfreq(layout, root)
    if devfreq is None:
        print('jetson_clocks: GPU devfreq node not found', file=sys.stderr)
        return 1
    low, high = devfreq / 'min_freq', devfreq / 'max_freq'
    if opts.show:
        print(f'SOC family:sim  Machine:{layout.model}')
        print(f'GPU MinFreq={low.read_text().strip()} MaxFreq={high.read_text().strip()} '
              f'CurrentFreq={(devfreq / "cur_freq").read_text().strip()}')
        return 0
    if opts.store:
        Path(opts.store).parent.mkdir(parents=True, exist_ok=True)
        Path(opts.store).write_text(f'{low}:{low.read_text().strip()}\n', encoding='ascii')
        return 0
    if opts.restore:
        try:
            path, value = Path(opts.restore).read_text(encoding='ascii').strip().rsplit(':', 1)
        except (OSError, ValueError):
            print(f'jetson_clocks: cannot restore, {opts.restore} missing; run --store first',
                  file=sys.stderr)
            return 1
        Path(path).write_text(value + '\n', encoding='ascii')
        return 0
    low.write_text(high.read_text(), encoding='ascii')
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description='nvpmodel / jetson_clocks emulation over a thermal-model tree')
    parser.add_argument('--root', required=True, help='directory holding the sim tree')
    parser.add_argument('--layout', default='sim', help='profile name or layout file')
    parser.add_argument('tool', choices=('nvpmodel', 'jetson_clocks'))
    parser.add_argument('args', nargs=argparse.REMAINDER)
    opts = parser.parse_args(argv)
    layout, _problems = layout_of(opts.layout, root=opts.root)
    root = SysfsRoot(opts.root, retry_s=0.0)
    if opts.tool == 'nvpmodel':
        return _nvpmodel(layout, root, opts.args)
    return _jetson_clocks(layout, root, opts.args)


def tool_command(tool: str, *, root: str, layout: str = 'sim') -> tuple[str, ...]:
    """The command prefix that runs ``tool`` emulated over ``root`` in a new process."""
    return (sys.executable, '-m', 'jetson_edge_sim.power.sim_tools', '--root', root,
            '--layout', layout, tool)


def in_process_runner(argv: Sequence[str], timeout_s: float) -> subprocess.CompletedProcess:
    """Runner for the actuators that executes a :func:`tool_command` without forking."""
    del timeout_s  # in-process: nothing to time out
    args = list(argv)
    start = args.index('jetson_edge_sim.power.sim_tools') + 1
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args[start:])
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


BACKEND = ToolBackend(command=tool_command, runner=in_process_runner)


if __name__ == '__main__':
    sys.exit(main())
