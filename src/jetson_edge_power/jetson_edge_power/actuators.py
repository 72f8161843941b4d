"""Actuators: nvpmodel mode, jetson_clocks, fan PWM; each reads back what it set.

Commands run through one seam, :func:`run_command`, which turns a missing binary or a refused
privilege into :class:`BinaryNotFoundError` / :class:`PermissionDeniedError` with a message
saying what to do.  With ``dry_run=True`` nothing runs or is written: the would-be command is
recorded in :attr:`history` and returned, which is how the manager behaves off a Jetson.
A :class:`ToolBackend` stands in for the system's tools: another package registers one under
the entry point group :data:`TOOL_BACKENDS` (``jetson_edge_sim`` registers ``sim``, which
emulates the tools' command lines over the thermal model's tree, so the same code path runs end
to end); this package never imports it.
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points

from jetson_edge_power.errors import (ActuatorError, BinaryNotFoundError,
                                      PermissionDeniedError, ReadBackMismatchError)
from jetson_edge_power.layout import Layout
from jetson_edge_power.sysfs import SysfsRoot

_LOG = logging.getLogger(__name__)
_PERMISSION_HINTS = ('permission denied', 'must be root', 'run as root', 'not permitted',
                     'operation not permitted', 'requires root')

Runner = Callable[[Sequence[str], float], subprocess.CompletedProcess]
TOOL_BACKENDS = 'jetson_edge_power.tool_backends'


@dataclass(frozen=True)
class ToolBackend:
    """A stand-in for ``nvpmodel`` and ``jetson_clocks``: ``command(tool, root=, layout=)`` is
    the command prefix that runs ``tool`` over the tree at ``root``; ``runner`` executes it."""

    command: Callable[..., tuple[str, ...]]
    runner: Runner


def load_tool_backend(name: str) -> ToolBackend:
    """The :class:`ToolBackend` an installed package registers as ``name``."""
    found = {ep.name: ep for ep in entry_points(group=TOOL_BACKENDS)}
    if name not in found:
        known = ', '.join(sorted(found)) or 'none'
        raise ActuatorError(
            f'actuator backend {name!r} is not installed (installed: {known}); the sim backend '
            'comes with the jetson_edge_sim package, which a robot does not install: use '
            'actuator_backend system or dry_run')
    return found[name].load()


def run_command(argv: Sequence[str], timeout_s: float) -> subprocess.CompletedProcess:
    """Run ``argv`` with stdin answering ``NO`` (nvpmodel may ask to reboot), capture output."""
    try:
        return subprocess.run(list(argv), input='NO\n', capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    except FileNotFoundError as exc:
        raise BinaryNotFoundError(
            f'{argv[0]} not found: install the L4T tools (nvidia-l4t-tools / nvidia-l4t-core) '
            'or set the manager\'s command parameter to its path; off a Jetson use dry_run'
        ) from exc
    except PermissionError as exc:
        raise PermissionDeniedError(f'cannot execute {argv[0]}: {exc}') from exc
    except subprocess.TimeoutExpired as exc:
        raise ActuatorError(f'{" ".join(argv)} did not finish within {timeout_s}s') from exc


def _check(argv: Sequence[str], proc: subprocess.CompletedProcess) -> str:
    output = (proc.stdout or '') + (proc.stderr or '')
    if proc.returncode != 0:
        lowered = output.lower()
        if any(hint in lowered for hint in _PERMISSION_HINTS):
            raise PermissionDeniedError(
                f'{" ".join(argv)} was refused ({output.strip()[:200]}): run the manager as '
                f'root or allow it in sudoers (NOPASSWD for {argv[0]}) and prefix the '
                'command with "sudo -n"')
        raise ActuatorError(f'{" ".join(argv)} failed with exit code {proc.returncode}: '
                            f'{output.strip()[:300]}')
    return output


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    message: str
    command: tuple[str, ...] = ()
    dry_run: bool = False


class NvpmodelActuator:
    """Sets and queries the nvpmodel mode; refuses ids the layout does not list."""

    def __init__(self, layout: Layout, *, command: Sequence[str] = ('nvpmodel',),
                 dry_run: bool = False, runner: Runner = run_command,
                 timeout_s: float = 15.0) -> None:
        self._layout = layout
        self._command = tuple(command)
        self.dry_run = dry_run
        self._runner = runner
        self._timeout = timeout_s
        self.history: list[tuple[str, ...]] = []

    def query(self) -> tuple[int, str]:
        """``(id, name)`` of the active mode from ``nvpmodel -q``."""
        argv = self._command + ('-q',)
        output = _check(argv, self._runner(argv, self._timeout))
        return parse_nvpmodel_query(output)

    def set_mode(self, mode_id: int) -> ActionResult:
        mode = self._layout.mode(mode_id)
        if mode is None:
            known = ', '.join(f'{m.id}={m.name}' for m in self._layout.power_modes) or 'none'
            raise ActuatorError(f'power mode {mode_id} is not defined for '
                                f'{self._layout.model} (modes: {known})')
        argv = self._command + ('-m', str(mode_id))
        self.history.append(argv)
        if self.dry_run:
            return ActionResult(True, f'dry run: would set power mode {mode_id} ({mode.name})',
                                argv, True)
        _check(argv, self._runner(argv, self._timeout))
        got_id, got_name = self.query()
        if got_id != mode_id:
            raise ReadBackMismatchError(
                f'asked nvpmodel for mode {mode_id} ({mode.name}) but it reports {got_id} '
                f'({got_name}); a mode change may need a reboot on this board')
        if got_name and got_name.lower() != mode.name.lower():
            raise ReadBackMismatchError(
                f'nvpmodel calls mode {mode_id} "{got_name}" but the layout says '
                f'"{mode.name}": the layout is for another module or JetPack release '
                '(e.g. orin_nano vs orin_nano_jp61); fix the profile before trusting the ids')
        return ActionResult(True, f'power mode {mode_id} ({mode.name}) set and confirmed',
                            argv)


_MODE_NAME = re.compile(r'NV Power Mode:\s*(\S+)')


def parse_nvpmodel_query(output: str) -> tuple[int, str]:
    """Parse ``nvpmodel -q``: a ``NV Power Mode: NAME`` line followed by the id line."""
    name_match = _MODE_NAME.search(output)
    lines = [line.strip() for line in output.splitlines()]
    start = 0
    if name_match:
        for idx, line in enumerate(lines):
            if 'NV Power Mode' in line:
                start = idx + 1
                break
    for line in lines[start:]:
        if line.isdigit():
            return int(line), name_match.group(1) if name_match else ''
    raise ActuatorError(f'cannot read the mode from nvpmodel -q output: {output.strip()[:200]!r}')


class JetsonClocksActuator:
    """``jetson_clocks`` on (lock clocks at the mode's maximum), restore, and show."""

    def __init__(self, *, command: Sequence[str] = ('jetson_clocks',),
                 store_file: str = '/var/lib/jetson_edge/l4t_dfs.conf', dry_run: bool = False,
                 runner: Runner = run_command, timeout_s: float = 30.0) -> None:
        self._command = tuple(command)
        self._store = store_file
        self.dry_run = dry_run
        self._runner = runner
        self._timeout = timeout_s
        self.history: list[tuple[str, ...]] = []
        self._stored = False

    def _run(self, *args: str, changes: bool = True) -> str:
        argv = self._command + args
        if changes:
            self.history.append(argv)
        if self.dry_run:
            return ''
        return _check(argv, self._runner(argv, self._timeout))

    def show(self) -> dict[str, tuple[float, float]]:
        """``{engine: (min_freq, max_freq)}`` parsed from ``jetson_clocks --show``."""
        output = self._run('--show', changes=False)
        freqs = {}
        for match in re.finditer(r'^(\w+)\s.*?MinFreq=(\d+)\s+MaxFreq=(\d+)', output,
                                 re.MULTILINE):
            freqs[match.group(1)] = (float(match.group(2)), float(match.group(3)))
        return freqs

    def locked(self) -> bool | None:
        """Whether the GPU clock is pinned (min == max); ``None`` if it cannot be told."""
        gpu = self.show().get('GPU')
        return None if gpu is None else gpu[0] == gpu[1]

    def enable(self) -> ActionResult:
        if not self._stored:  # keep the DVFS settings so restore can return to them
            self._run('--store', self._store)
            self._stored = True
        self._run()
        if self.dry_run:
            return ActionResult(True, 'dry run: would lock clocks', self.history[-1], True)
        if self.locked() is False:
            raise ReadBackMismatchError('jetson_clocks ran but the GPU clock is not pinned')
        return ActionResult(True, 'clocks locked to the power mode\'s maximum',
                            self._command)

    def restore(self) -> ActionResult:
        if not self._stored and not self.dry_run:
            raise ActuatorError('nothing to restore: jetson_clocks was not enabled by this '
                                'manager (no --store file); reboot or set the mode again')
        self._run('--restore', self._store)
        if self.dry_run:
            return ActionResult(True, 'dry run: would restore clocks', self.history[-1], True)
        if self.locked() is True:
            raise ReadBackMismatchError('jetson_clocks --restore ran but the GPU clock is '
                                        'still pinned')
        return ActionResult(True, 'clocks restored to dynamic scaling',
                            self._command + ('--restore', self._store))


class FanActuator:
    """Writes the fan PWM (0..pwm_max) to the layout's file and reads it back."""

    def __init__(self, layout: Layout, root: SysfsRoot, *, dry_run: bool = False) -> None:
        self._layout = layout
        self._root = root
        self.dry_run = dry_run
        self.history: list[int] = []

    def set_pwm(self, pwm: float) -> ActionResult:
        pwm_max = self._layout.fan.pwm_max
        value = int(round(pwm))
        if not 0 <= value <= pwm_max:
            raise ActuatorError(f'fan PWM {pwm} outside 0..{pwm_max}')
        path = self._root.resolve(self._layout.fan.pwm_write)
        if path is None:
            raise ActuatorError(f'no fan control file on {self._layout.model} '
                                f'(looked for {self._layout.fan.pwm_write}); the board may '
                                'have no PWM fan')
        self.history.append(value)
        if self.dry_run:
            return ActionResult(True, f'dry run: would write {value} to {path}', (), True)
        try:
            with open(path, 'w', encoding='ascii') as handle:
                handle.write(f'{value}\n')
        except PermissionError as exc:
            raise PermissionDeniedError(
                f'cannot write fan PWM to {path}: permission denied; run the manager as root '
                'or add a udev rule granting its group write access (and stop nvfancontrol, '
                'which otherwise overrides manual PWM)') from exc
        except OSError as exc:
            raise ActuatorError(f'writing fan PWM to {path} failed: {exc}') from exc
        back = self._root.read_spec_number(self._layout.fan.pwm_read, what='fan PWM')
        if back is not None and int(back) != value:
            raise ReadBackMismatchError(
                f'wrote fan PWM {value} but {self._layout.fan.pwm_read} reads {int(back)}: '
                'another controller (nvfancontrol) owns the fan; stop it to control the fan')
        return ActionResult(True, f'fan PWM {value} set', ())
