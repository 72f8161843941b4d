"""First-order thermal model of a Jetson that writes a sysfs-shaped tree (the ``sim`` board).

One lumped heat capacity between the die and the air:
``C * dT/dt = P - (T - T_ambient) / R(fan)`` with ``R = r_passive / (1 + fan_gain * pwm/pwm_max)``.
Power comes from a static part, CPU load and inference rate, each scaled by the active power
mode's clock budget (watts relative to the ladder's top; equal budgets step by 0.85 so every
rung of the ladder cools).  A lower mode also caps the inference rate the GPU can sustain.

The model reads its inputs the way the hardware would: the power mode from nvpmodel's status
file, the fan PWM from ``pwm1`` and clock locking from the GPU devfreq ``min_freq``; those
files are written by the real actuators (and by :mod:`jetson_edge_sim.power.sim_tools` standing in
for ``nvpmodel`` and ``jetson_clocks``).  It writes thermal zones, INA3221 rails, GPU load and
clocks, EMC, fan speed and cpufreq at the layout's paths, so the manager reads it through its
production readers: rails on each of the layout's power monitors in its driver's format (three
channels per INA3221, hwmon or JetPack 4's IIO), the fan's PWM also where the layout reads it
(``cur_pwm`` beside ``target_pwm`` on JetPack 4).  Files are replaced atomically, so readers never see half a value.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

from jetson_edge_power.layout import Layout, RailMonitor
from jetson_edge_power.sysfs import candidates


@dataclass(frozen=True)
class ThermalModelParams:
    ambient_c: float = 35.0
    heat_capacity_j_per_c: float = 30.0
    r_passive_c_per_w: float = 3.5
    fan_gain: float = 0.8
    static_w: float = 3.0
    clocks_locked_w: float = 1.5
    cpu_full_w: float = 6.0
    energy_per_inference_j: float = 0.5
    peak_inference_hz: float = 40.0
    rail_voltage_mv: float = 5000.0
    fan_max_rpm: float = 5000.0
    gpu_max_freq_hz: float = 1020e6
    gpu_min_freq_hz: float = 306e6
    cpu_max_freq_khz: float = 1728000.0
    emc_freq_hz: float = 3199e6
    noise_c: float = 0.0
    cpu_count: int = 6


class ThermalModel:
    """The model's state and the tree it keeps up to date under ``root``."""

    def __init__(self, layout: Layout, root: str | os.PathLike[str], *,
                 params: ThermalModelParams | None = None, initial_c: float | None = None,
                 initial_pwm: int = 80, seed: int = 0) -> None:
        if not layout.power_modes:
            raise ValueError(f'layout {layout.model} lists no power modes; the model needs them')
        self.layout = layout
        self.root = Path(root)
        self.params = params or ThermalModelParams()
        self.ambient_c = self.params.ambient_c
        self.temp_c = self.ambient_c if initial_c is None else initial_c
        self.cpu_load = 0.0
        self.requested_rate_hz = 0.0
        self.power_w = 0.0
        self.achieved_rate_hz = 0.0
        self._rng = random.Random(seed)
        self._scale = _mode_scales(layout)
        self._written: dict[Path, str] = {}
        self._dirs: set[Path] = set()
        self._paths = self._choose_paths()
        self._rails = self._rail_channels()
        self._initialise(initial_pwm)

    # --- inputs read from the tree (written by the actuators) -------------------------------

    @property
    def mode_id(self) -> int:
        text = self._read(self._paths['nvpmodel'])
        if text and 'pmode:' in text:
            try:
                return int(text.split('pmode:')[1].split()[0])
            except ValueError:
                pass
        return self.layout.default_mode if self.layout.default_mode is not None else \
            self.layout.ladder()[0].id

    @property
    def fan_pwm(self) -> float:
        text = self._read(self._paths['pwm'])
        try:
            return max(0.0, min(float(text or 0), self.layout.fan.pwm_max))
        except ValueError:
            return 0.0

    @property
    def clocks_locked(self) -> bool:
        low = self._read(self._paths['gpu_min'])
        high = self._read(self._paths['gpu_max'])
        return bool(low) and low == high

    # --- dynamics ---------------------------------------------------------------------------

    def set_load(self, *, cpu_load: float, inference_rate_hz: float) -> None:
        """Workload: CPU load in 0..1 and the inference rate perception asks for (Hz)."""
        self.cpu_load = max(0.0, min(1.0, cpu_load))
        self.requested_rate_hz = max(0.0, inference_rate_hz)

    def step(self, dt_s: float) -> None:
        """Advance ``dt_s`` seconds (exact exponential step, stable for any dt) and write."""
        p = self.params
        scale = self._scale.get(self.mode_id, 1.0)
        self.achieved_rate_hz = min(self.requested_rate_hz, p.peak_inference_hz * scale)
        cpu_w = self.cpu_load * p.cpu_full_w * scale
        gpu_w = self.achieved_rate_hz * p.energy_per_inference_j * (0.5 + 0.5 * scale)
        static_w = p.static_w + (p.clocks_locked_w if self.clocks_locked else 0.0)
        self.power_w = static_w + cpu_w + gpu_w
        resistance = p.r_passive_c_per_w / (1.0 + p.fan_gain * self.fan_pwm /
                                            self.layout.fan.pwm_max)
        steady = self.ambient_c + self.power_w * resistance
        tau = resistance * p.heat_capacity_j_per_c
        decay = pow(2.718281828459045, -dt_s / tau)
        self.temp_c = steady + (self.temp_c - steady) * decay
        self._write_state(scale, cpu_w, gpu_w)

    def steady_state_c(self) -> float:
        """Temperature the current inputs settle at (for tests and tuning)."""
        p = self.params
        resistance = p.r_passive_c_per_w / (1.0 + p.fan_gain * self.fan_pwm /
                                            self.layout.fan.pwm_max)
        return self.ambient_c + self.power_w * resistance

    # --- the tree ---------------------------------------------------------------------------

    def _choose_paths(self) -> dict[str, Path]:
        def first(spec, fallback: str) -> Path:
            cands = candidates(spec)
            board = cands[0] if cands else fallback
            # A glob such as hwmon/hwmon* is laid out with a concrete index, as on a board.
            return self.root / board.replace('hwmon*', 'hwmon3').replace(
                'iio:device*', 'iio:device0').lstrip('/')
        lay = self.layout
        gpu_freq = first(lay.gpu_freq, '/sys/class/devfreq/17000000.gpu/cur_freq')
        return {
            'nvpmodel': first(lay.nvpmodel_status, '/var/lib/nvpmodel/status'),
            'pwm': first(lay.fan.pwm_write, '/sys/devices/platform/pwm-fan/hwmon/hwmon*/pwm1'),
            'pwm_read': first(lay.fan.pwm_read, '/sys/devices/platform/pwm-fan/hwmon/hwmon*/pwm1'),
            'rpm': first(lay.fan.rpm, '/sys/devices/platform/tachometer/hwmon/hwmon*/rpm'),
            'gpu_load': first(lay.gpu_load, '/sys/devices/gpu.0/load'),
            'gpu_cur': gpu_freq,
            'gpu_max': gpu_freq.with_name('max_freq'),
            'gpu_min': gpu_freq.with_name('min_freq'),
            'emc_rate': first(lay.emc_freq, '/sys/kernel/debug/bpmp/debug/clk/emc/rate'),
            'emc_util': first(lay.emc_util, '/sys/kernel/debug/cactmon/mc_all'),
            'thermal': self.root / os.path.dirname(lay.thermal.zones_glob).lstrip('/'),
            'cpu': self.root / 'sys/devices/system/cpu',
        }

    def _rail_channels(self) -> list[tuple[str, str, Path, int]]:
        """(rail label, driver, monitor directory, channel index) for each rail, filling the
        layout's monitors three channels at a time (a monitor listed as another driver's
        fallback at the same address is left empty once the rails are placed)."""
        monitors = self.layout.rail_monitors or (
            RailMonitor('ina3221', '/sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon*'),)
        labels = list(self.layout.expected_rails) or ['VDD_IN', 'VDD_CPU_GPU_CV', 'VDD_SOC']
        channels = []
        for number, label in enumerate(labels):
            monitor = monitors[min(number // 3, len(monitors) - 1)]
            directory = self.root / candidates(monitor.path)[0].replace(
                'hwmon*', 'hwmon3').replace('iio:device*', 'iio:device0').lstrip('/')
            index = number % 3 if monitor.driver == 'ina3221x' else number % 3 + 1
            channels.append((label, monitor.driver, directory, index))
        return channels

    def _zone_names(self) -> list[str]:
        wanted = [z for z in self.layout.thermal.policy_zones
                  if not z.startswith('cv')] or ['cpu', 'gpu', 'tj']
        return wanted

    def _initialise(self, initial_pwm: int) -> None:
        paths = self._paths
        if not paths['nvpmodel'].exists():
            mode = self.mode_id
            self._write(paths['nvpmodel'], f'pmode:{mode:04d} fmode:quiet\n')
        if not paths['pwm'].exists():
            self._write(paths['pwm'], f'{initial_pwm}\n')
        for label, driver, directory, idx in self._rails:
            if driver == 'ina3221x':
                self._write(directory / f'rail_name_{idx}', label + '\n')
            else:
                self._write(directory / 'name', 'ina3221\n')
                self._write(directory / f'in{idx}_label', label + '\n')
                self._write(directory / 'in7_label', 'sum of shunt voltages\n')
        for idx, zone in enumerate(self._zone_names()):
            self._write(paths['thermal'] / f'thermal_zone{idx}' / 'type', f'{zone}-thermal\n')
        self._write_state(self._scale.get(self.mode_id, 1.0), 0.0, 0.0)

    def _write_state(self, scale: float, cpu_w: float, gpu_w: float) -> None:
        p = self.params
        paths = self._paths
        base = self.temp_c
        offsets = {'cpu': 0.25 * cpu_w, 'gpu': 0.3 * gpu_w, 'soc0': -0.8, 'soc1': -0.5,
                   'soc2': -1.0}
        temps = {}
        for zone in self._zone_names():
            noise = self._rng.gauss(0.0, p.noise_c) if p.noise_c > 0 else 0.0
            temps[zone] = base + offsets.get(zone, 0.0) + noise
        if 'tj' in temps:
            temps['tj'] = max(v for k, v in temps.items() if k != 'tj')
        for idx, zone in enumerate(self._zone_names()):
            self._write(paths['thermal'] / f'thermal_zone{idx}' / 'temp',
                          f'{int(round(temps[zone] * 1000))}\n')
        volt = p.rail_voltage_mv
        rest_w = p.static_w * 0.5 / max(1, len(self._rails) - 2)
        for number, (_label, driver, directory, idx) in enumerate(self._rails):
            watts = (self.power_w, cpu_w + gpu_w)[number] if number < 2 else rest_w
            milliamps = int(round(watts * 1e6 / volt))
            if driver == 'ina3221x':
                self._write(directory / f'in_voltage{idx}_input', f'{int(volt)}\n')
                self._write(directory / f'in_current{idx}_input', f'{milliamps}\n')
                self._write(directory / f'in_power{idx}_input', f'{int(round(watts * 1000))}\n')
            else:
                self._write(directory / f'in{idx}_input', f'{int(volt)}\n')
                self._write(directory / f'curr{idx}_input', f'{milliamps}\n')
        capacity = p.peak_inference_hz * scale
        load = 0.0 if capacity <= 0 else min(1.0, self.achieved_rate_hz / capacity)
        self._write(paths['gpu_load'], f'{int(round(load * 1000))}\n')
        max_freq = int(p.gpu_max_freq_hz * scale)
        # jetson_clocks pins the clock by raising min_freq to max_freq; keep it pinned across
        # a mode change (as the real tool's effect lasts until --restore).
        locked = self.clocks_locked
        self._write(paths['gpu_max'], f'{max_freq}\n')
        self._write(paths['gpu_min'], f'{max_freq if locked else int(p.gpu_min_freq_hz)}\n')
        cur = max_freq if (locked or load > 0) else int(p.gpu_min_freq_hz)
        self._write(paths['gpu_cur'], f'{cur}\n')
        self._write(paths['emc_rate'], f'{int(p.emc_freq_hz)}\n')
        self._write(paths['emc_util'],
                      f'{int(p.emc_freq_hz / 1000 * (0.1 + 0.5 * load))}\n')
        if paths['pwm_read'] != paths['pwm']:
            self._write(paths['pwm_read'], f'{int(self.fan_pwm)}\n')
        self._write(paths['rpm'], f'{int(self.fan_pwm / self.layout.fan.pwm_max * p.fan_max_rpm)}\n')
        khz = int(p.cpu_max_freq_khz * scale * (0.5 + 0.5 * self.cpu_load))
        for core in range(p.cpu_count):
            self._write(paths['cpu'] / f'cpu{core}' / 'cpufreq' / 'scaling_cur_freq',
                          f'{khz}\n')

    def _write(self, path: Path, text: str) -> None:
        """Replace ``path`` atomically, skipping files whose content did not change."""
        if self._written.get(path) == text:
            return
        if path.parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(path.parent)
        tmp = path.with_name(f'.{path.name}.tmp')
        with open(tmp, 'w', encoding='ascii') as handle:
            handle.write(text)
        os.replace(tmp, path)
        self._written[path] = text

    @staticmethod
    def _read(path: Path) -> str:
        try:
            return path.read_text(encoding='ascii').strip()
        except OSError:
            return ''


def _mode_scales(layout: Layout) -> dict[int, float]:
    ladder = layout.ladder()
    top = ladder[0].watts if ladder and ladder[0].watts > 0 else 1.0
    scales: dict[int, float] = {}
    prev: float | None = None
    for mode in ladder:
        scale = mode.watts / top
        if prev is not None and scale >= prev:
            scale = prev * 0.85
        scales[mode.id] = scale
        prev = scale
    for mode in layout.power_modes:  # modes off the ladder scale by budget alone
        scales.setdefault(mode.id, mode.watts / top)
    return scales


