"""Hardware layout of one Jetson model: where each metric lives and which power modes exist.

A layout is data: a profile's ``hardware:`` section or a layout file of the same shape (see
:mod:`jetson_edge_power.hardware`). Paths are written as on the board; several candidates are
listed where JetPack releases moved a file. Zone names changed between JetPacks (``CPU-therm``
on JetPack 4/5, ``cpu-thermal`` on 6); readers key zones by
:func:`jetson_edge_power.readers.zone_key`, which maps both to ``cpu``. ``PMIC-Die`` reads a
constant 100 C on Nano/TX2/Xavier and ``thermal-fan-est`` is an estimate, so layouts ignore
both; a zone reading -256 C is a powered-off sensor. :func:`layout_from_dict` turns it into frozen dataclasses and collects, rather than raises,
the problems it can work around (unknown keys, a section missing): each becomes a WARN and the
readers simply report fewer metrics.  Only a layout that cannot be interpreted at all (not a
mapping, a power mode without an integer id) raises :class:`LayoutError`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jetson_edge_power.errors import LayoutError
from jetson_edge_power.sysfs import PathSpec

_LOG = logging.getLogger(__name__)

RAIL_DRIVERS = ('ina3221', 'ina3221x', 'ina238')


@dataclass(frozen=True)
class PowerMode:
    """One nvpmodel mode: the id ``nvpmodel -m`` takes, its name and its power budget."""

    id: int
    name: str
    watts: float


@dataclass(frozen=True)
class RailMonitor:
    """One power-monitor chip: its kernel driver and its sysfs directory (glob allowed).

    ``ina3221`` (JetPack 5+) is hwmon: ``inN_label``, ``inN_input`` mV, ``currN_input`` mA.
    ``ina3221x`` (JetPack 4) is IIO: ``rail_name_N``, ``in_voltageN_input`` mV,
    ``in_currentN_input`` mA, ``in_powerN_input`` mW.  ``ina238`` is hwmon with one channel
    and no label: ``in1_input`` mV, ``curr1_input`` mA, ``power1_input`` uW; its rail name
    comes from ``label`` here.
    """

    driver: str
    path: PathSpec
    label: str = ''


@dataclass(frozen=True)
class ThermalLayout:
    zones_glob: str = '/sys/class/thermal/thermal_zone*'
    ignore: tuple[str, ...] = ()
    policy_zones: tuple[str, ...] = ()
    sw_throttle_c: float | None = None
    shutdown_c: float | None = None


@dataclass(frozen=True)
class FanLayout:
    pwm_read: PathSpec | None = None
    pwm_write: PathSpec | None = None
    rpm: PathSpec | None = None
    pwm_max: int = 255


@dataclass(frozen=True)
class Layout:
    """Where every metric of one board lives (paths as on the board, resolved under a root)."""

    model: str
    thermal: ThermalLayout = field(default_factory=ThermalLayout)
    rail_monitors: tuple[RailMonitor, ...] = ()
    total_rail: str = ''
    expected_rails: tuple[str, ...] = ()
    gpu_load: PathSpec | None = None
    gpu_load_scale: float = 0.1
    gpu_freq: PathSpec | None = None
    gpu_max_freq: PathSpec | None = None
    emc_freq: PathSpec | None = None
    emc_util: PathSpec | None = None
    fan: FanLayout = field(default_factory=FanLayout)
    cpufreq_glob: str = '/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq'
    power_modes: tuple[PowerMode, ...] = ()
    default_mode: int | None = None
    mode_ladder: tuple[int, ...] = ()
    nvpmodel_status: PathSpec | None = '/var/lib/nvpmodel/status'

    def mode(self, mode_id: int) -> PowerMode | None:
        for mode in self.power_modes:
            if mode.id == mode_id:
                return mode
        return None

    def mode_by_name(self, name: str) -> PowerMode | None:
        for mode in self.power_modes:
            if mode.name.lower() == name.lower():
                return mode
        return None

    def ladder(self) -> tuple[PowerMode, ...]:
        """Modes the policy steps along, highest budget first.

        The layout's explicit ``ladder`` when given (several modes share a budget and differ
        in cores, so watts alone cannot order them), else every mode sorted by watts.
        """
        if self.mode_ladder:
            return tuple(m for m in (self.mode(i) for i in self.mode_ladder) if m is not None)
        return tuple(sorted(self.power_modes, key=lambda m: (-m.watts, m.id)))


_TOP_KEYS = {'model', 'thermal', 'rails', 'gpu_sysfs', 'emc_sysfs', 'fan', 'cpufreq_glob',
             'nvpmodel'}
# What a profile's hardware section says for people and the plan; no metric lives there.
_DESCRIPTIVE_KEYS = {'description', 'device_tree_match', 'soc', 'cpu', 'cpu_cores', 'gpu',
                     'gpu_cuda_cores', 'gpu_tensor_cores', 'dla_cores', 'memory_gb', 'jetpack'}


def layout_from_dict(data: Mapping[str, Any], *,
                     logger: logging.Logger | None = None) -> tuple[Layout, list[str]]:
    """Build a :class:`Layout`; returns it with the list of problems worked around.

    Each problem is also logged as a WARN.  Raises :class:`LayoutError` only when ``data``
    is not a mapping or a power mode cannot be understood.
    """
    log = logger or _LOG
    if not isinstance(data, Mapping):
        raise LayoutError(f'hardware layout must be a mapping, got {type(data).__name__}; '
                          'check the profile\'s hardware: section')
    problems: list[str] = []
    for key in sorted(set(data) - _TOP_KEYS - _DESCRIPTIVE_KEYS):
        problems.append(f'unknown layout key {key!r} ignored (known: {sorted(_TOP_KEYS)})')
    model = str(data.get('model', 'unknown'))

    thermal_d = _section(data, 'thermal', problems)
    thermal = ThermalLayout(
        zones_glob=str(thermal_d.get('zones_glob', ThermalLayout.zones_glob)),
        ignore=tuple(thermal_d.get('ignore', ())),
        policy_zones=tuple(thermal_d.get('policy_zones', ())),
        sw_throttle_c=_opt_float(thermal_d.get('sw_throttle_c')),
        shutdown_c=_opt_float(thermal_d.get('shutdown_c')),
    )

    rails_d = _section(data, 'rails', problems)
    monitors = []
    for entry in rails_d.get('monitors', ()):
        driver = str(entry.get('driver', ''))
        if driver not in RAIL_DRIVERS or 'path' not in entry:
            problems.append(f'rail monitor {dict(entry)} skipped: needs driver in '
                            f'{RAIL_DRIVERS} and a path')
            continue
        monitors.append(RailMonitor(driver=driver, path=entry['path'],
                                    label=str(entry.get('label', ''))))

    gpu_d = _section(data, 'gpu_sysfs', problems)
    emc_d = data.get('emc_sysfs') or {}
    fan_d = _section(data, 'fan', problems)
    pwm = fan_d.get('pwm')
    fan = FanLayout(pwm_read=fan_d.get('pwm_read', pwm), pwm_write=fan_d.get('pwm_write', pwm),
                    rpm=fan_d.get('rpm'), pwm_max=int(fan_d.get('pwm_max', 255)))

    nvp_d = _section(data, 'nvpmodel', problems)
    modes = []
    for entry in nvp_d.get('modes', ()):
        try:
            modes.append(PowerMode(id=int(entry['id']), name=str(entry['name']),
                                   watts=float(entry['watts'])))
        except (KeyError, TypeError, ValueError) as exc:
            raise LayoutError(f'power mode {entry!r} needs integer id, name and watts '
                              f'({exc})') from exc
    ids = [m.id for m in modes]
    if len(ids) != len(set(ids)):
        raise LayoutError(f'power mode ids repeat in {ids}; each nvpmodel id must be unique')
    ladder = tuple(int(i) for i in nvp_d.get('ladder', ()))
    for mode_id in ladder:
        if mode_id not in ids:
            raise LayoutError(f'nvpmodel ladder names mode {mode_id}, which is not among the '
                              f'modes {ids}; fix the ladder or add the mode')
    default = nvp_d.get('default')
    if default is not None and int(default) not in ids:
        problems.append(f'nvpmodel default {default} is not among the modes {ids}; ignored')
        default = None

    layout = Layout(
        model=model,
        thermal=thermal,
        rail_monitors=tuple(monitors),
        total_rail=str(rails_d.get('total', '')),
        expected_rails=tuple(rails_d.get('expected', ())),
        gpu_load=gpu_d.get('load'),
        gpu_load_scale=float(gpu_d.get('load_scale', 0.1)),
        gpu_freq=gpu_d.get('cur_freq'),
        gpu_max_freq=gpu_d.get('max_freq'),
        emc_freq=emc_d.get('cur_freq'),
        emc_util=emc_d.get('util'),
        fan=fan,
        cpufreq_glob=str(data.get('cpufreq_glob', Layout.cpufreq_glob)),
        power_modes=tuple(modes),
        default_mode=None if default is None else int(default),
        mode_ladder=ladder,
        nvpmodel_status=nvp_d.get('status_file', Layout.nvpmodel_status),
    )
    for problem in problems:
        log.warning(f'layout {model}: {problem}')  # rclpy's logger takes no arguments
    return layout, problems


def _section(data: Mapping[str, Any], key: str, problems: list[str]) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        problems.append(f'no {key!r} section: those metrics will be missing')
        return {}
    if not isinstance(value, Mapping):
        problems.append(f'{key!r} must be a mapping, got {type(value).__name__}; ignored')
        return {}
    return value


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
