"""Board readers: thermal zones, power rails, GPU, EMC, fan, cpufreq and the nvpmodel mode.

Each reader takes a :class:`~jetson_edge_power.layout.Layout` and a
:class:`~jetson_edge_power.sysfs.SysfsRoot` and returns plain values; whatever is missing or
unreadable is left out (with one WARN from the root), so a board with an unknown layout still
reports what it can.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from jetson_edge_power.layout import Layout, RailMonitor
from jetson_edge_power.sysfs import SysfsRoot, candidates

# Below this a zone reads as a powered-off or absent sensor (Orin reports -256 C).
_MIN_VALID_C = -40.0
_ZONE_SUFFIX = re.compile(r'[-_]?therm(al)?$')


def zone_key(zone_type: str) -> str:
    """Canonical zone name across JetPacks: ``CPU-therm`` and ``cpu-thermal`` -> ``cpu``."""
    text = zone_type.strip().lower()
    stripped = _ZONE_SUFFIX.sub('', text)
    return stripped or text


class ThermalZoneReader:
    """Temperature in deg C of every readable zone, keyed by :func:`zone_key`.

    A zone's ``type`` never changes while it exists, so it is read once per zone directory.
    """

    def __init__(self, layout: Layout, root: SysfsRoot) -> None:
        self._layout = layout
        self._root = root
        self._keys: dict[str, str | None] = {}

    def read(self) -> dict[str, float]:
        temps: dict[str, float] = {}
        for zone_dir in self._root.glob(self._layout.thermal.zones_glob):
            if zone_dir not in self._keys:
                ztype = self._root.read_text(os.path.join(zone_dir, 'type'),
                                             what='thermal zone type')
                self._keys[zone_dir] = zone_key(ztype) if ztype else None
            key = self._keys[zone_dir]
            if key is None:
                continue
            milli = self._root.read_number(os.path.join(zone_dir, 'temp'),
                                           what=f'thermal zone {key}')
            if milli is None:
                continue
            celsius = milli / 1000.0
            if celsius <= _MIN_VALID_C:
                continue
            if key in temps:  # two zones with one name: keep the hotter, never hide heat
                celsius = max(celsius, temps[key])
            temps[key] = celsius
        return temps


@dataclass(frozen=True)
class RailReading:
    voltage_mv: float | None
    current_ma: float | None
    power_mw: float | None


@dataclass(frozen=True)
class _Channel:
    name: str
    volt: str
    curr: str
    power: str | None
    power_scale: float  # file units -> mW


class RailReader:
    """Reads every rail of the layout's power monitors; channels are discovered once per dir."""

    def __init__(self, layout: Layout, root: SysfsRoot) -> None:
        self._layout = layout
        self._root = root
        self._channels: dict[str, tuple[_Channel, ...]] = {}

    def read(self) -> dict[str, RailReading]:
        rails: dict[str, RailReading] = {}
        for monitor in self._layout.rail_monitors:
            directory = self._root.resolve(monitor.path)
            if directory is None:
                continue
            if directory not in self._channels:
                self._channels[directory] = self._discover(monitor, directory)
            for chan in self._channels[directory]:
                volt = self._root.read_number(chan.volt, what=f'rail {chan.name} voltage')
                curr = self._root.read_number(chan.curr, what=f'rail {chan.name} current')
                power = None
                if chan.power is not None:
                    raw = self._root.read_number(chan.power, what=f'rail {chan.name} power')
                    power = None if raw is None else raw * chan.power_scale
                if power is None and volt is not None and curr is not None:
                    power = volt * curr / 1000.0
                rails[chan.name] = RailReading(volt, curr, power)
        missing = [name for name in self._layout.expected_rails if name not in rails]
        if missing and self._layout.rail_monitors:
            self._root.warn_once('rails-missing:' + ','.join(missing),
                                 f'power rails {missing} expected on {self._layout.model} but '
                                 'not found; check the layout\'s rails section')
        return rails

    def _discover(self, monitor: RailMonitor, directory: str) -> tuple[_Channel, ...]:
        try:
            names = os.listdir(directory)
        except OSError as exc:
            self._root.warn_once(directory, f'power monitor {directory}: {exc}; rails left out')
            return ()
        join = os.path.join
        channels = []
        if monitor.driver == 'ina3221':
            for entry in sorted(names):
                match = re.fullmatch(r'in(\d+)_label', entry)
                if not match:
                    continue
                idx = match.group(1)
                label = self._root.read_text(join(directory, entry), what='rail label')
                # Channel 7 is the sum of shunt voltages; NC marks an unconnected channel.
                if not label or label == 'NC' or idx == '7':
                    continue
                channels.append(_Channel(label, join(directory, f'in{idx}_input'),
                                         join(directory, f'curr{idx}_input'), None, 1.0))
        elif monitor.driver == 'ina3221x':
            for entry in sorted(names):
                match = re.fullmatch(r'rail_name_(\d+)', entry)
                if not match:
                    continue
                idx = match.group(1)
                label = self._root.read_text(join(directory, entry), what='rail label')
                if not label or label == 'NC':
                    continue
                channels.append(_Channel(label, join(directory, f'in_voltage{idx}_input'),
                                         join(directory, f'in_current{idx}_input'),
                                         join(directory, f'in_power{idx}_input'), 1.0))
        elif monitor.driver == 'ina238':
            label = monitor.label or os.path.basename(directory)
            channels.append(_Channel(label, join(directory, 'in1_input'),
                                     join(directory, 'curr1_input'),
                                     join(directory, 'power1_input'), 1e-3))
        if not channels:
            self._root.warn_once(directory + ':empty',
                                 f'power monitor {directory} ({monitor.driver}) has no '
                                 'readable channel; rails left out')
        return tuple(channels)


def total_power_mw(layout: Layout, rails: dict[str, RailReading]) -> float | None:
    """Board input power: the layout's total rail, else the sum of all rails."""
    if layout.total_rail:
        reading = rails.get(layout.total_rail)
        return None if reading is None else reading.power_mw
    powers = [r.power_mw for r in rails.values() if r.power_mw is not None]
    return sum(powers) if powers else None


@dataclass(frozen=True)
class GpuEmcFan:
    gpu_load_pct: float | None
    gpu_freq_hz: float | None
    gpu_max_freq_hz: float | None
    gpu_min_freq_hz: float | None
    emc_freq_hz: float | None
    emc_util_pct: float | None
    fan_pwm: float | None
    fan_rpm: float | None


def read_gpu_emc_fan(layout: Layout, root: SysfsRoot) -> GpuEmcFan:
    """GPU load (per-mille file scaled to %), GPU/EMC clocks, EMC activity and the fan."""
    load = root.read_spec_number(layout.gpu_load, what='GPU load')
    emc_freq = root.read_spec_number(layout.emc_freq, what='EMC clock')
    emc_activity = root.read_spec_number(layout.emc_util, what='EMC activity')
    emc_util = None
    # actmon reports memory-controller activity in kHz; utilisation is its share of the clock.
    if emc_activity is not None and emc_freq:
        emc_util = min(100.0, emc_activity * 1000.0 / emc_freq * 100.0)
    pwm = root.read_spec_number(layout.fan.pwm_read, what='fan PWM')
    return GpuEmcFan(
        gpu_load_pct=None if load is None else load * layout.gpu_load_scale,
        gpu_freq_hz=root.read_spec_number(layout.gpu_freq, what='GPU clock'),
        gpu_max_freq_hz=root.read_spec_number(layout.gpu_max_freq, what='GPU max clock'),
        gpu_min_freq_hz=root.read_spec_number(_min_freq_spec(layout), what='GPU min clock'),
        emc_freq_hz=emc_freq,
        emc_util_pct=emc_util,
        fan_pwm=pwm,
        fan_rpm=root.read_spec_number(layout.fan.rpm, what='fan speed'),
    )


def _min_freq_spec(layout: Layout) -> tuple[str, ...]:
    # devfreq keeps min_freq next to max_freq; jetson_clocks pins the clock by raising it.
    return tuple(p.replace('max_freq', 'min_freq') for p in candidates(layout.gpu_max_freq))


def read_cpufreq_khz(layout: Layout, root: SysfsRoot) -> dict[int, float]:
    """Current frequency (kHz) of each online core, keyed by core index."""
    freqs: dict[int, float] = {}
    for path in root.glob(layout.cpufreq_glob):
        match = re.search(r'cpu(\d+)', path[len(str(root.root)):])
        if not match:
            continue
        value = root.read_number(path, what='cpufreq')
        if value is not None:
            freqs[int(match.group(1))] = value
    return freqs


_PMODE = re.compile(r'pmode:\s*(\d+)')


def read_nvpmodel_status(layout: Layout, root: SysfsRoot) -> int | None:
    """Active nvpmodel id from nvpmodel's status file (``pmode:0002 fmode:quiet``)."""
    path = root.resolve(layout.nvpmodel_status)
    if path is None:
        return None
    text = root.read_text(path, what='nvpmodel status')
    match = _PMODE.search(text or '')
    if match is None:
        if text is not None:
            root.warn_once(path + ':fmt', f'nvpmodel status {path} holds {text[:40]!r}, no '
                                          'pmode field; power mode left out')
        return None
    return int(match.group(1))
