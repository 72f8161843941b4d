"""One sample of everything the manager watches, gathered from all readers.

:class:`BoardMonitor` owns the readers for one layout and root; :meth:`BoardMonitor.sample`
returns a :class:`Snapshot` whose :meth:`Snapshot.metrics` flattens it into the name -> value
map that diagnostics and Prometheus both publish, so the two cannot disagree.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

from jetson_edge_power.layout import Layout
from jetson_edge_power.nvml_reader import NvmlGpu, NvmlReader
from jetson_edge_power.readers import (GpuEmcFan, RailReader, RailReading, ThermalZoneReader,
                                       read_cpufreq_khz, read_gpu_emc_fan,
                                       read_nvpmodel_status, total_power_mw)
from jetson_edge_power.sysfs import SysfsRoot
from jetson_edge_power.system_stats import SystemStats, SystemStatsReader


@dataclass(frozen=True)
class Snapshot:
    stamp: float
    temps_c: dict[str, float]
    rails: dict[str, RailReading]
    total_power_mw: float | None
    board: GpuEmcFan
    cpufreq_khz: dict[int, float]
    system: SystemStats | None
    power_mode_id: int | None
    nvml: tuple[NvmlGpu, ...] = ()
    missing: tuple[str, ...] = field(default=())

    def metrics(self) -> dict[str, float]:
        """Flat numeric metrics; names are stable (they become Prometheus labels)."""
        out: dict[str, float] = {}
        for zone, temp in sorted(self.temps_c.items()):
            out[f'temp_c.{zone}'] = temp
        for name, rail in sorted(self.rails.items()):
            for key, value in (('voltage_mv', rail.voltage_mv), ('current_ma', rail.current_ma),
                               ('power_mw', rail.power_mw)):
                if value is not None:
                    out[f'rail.{name}.{key}'] = value
        if self.total_power_mw is not None:
            out['power_total_mw'] = self.total_power_mw
        for key in ('gpu_load_pct', 'gpu_freq_hz', 'gpu_max_freq_hz', 'emc_freq_hz',
                    'emc_util_pct', 'fan_pwm', 'fan_rpm'):
            value = getattr(self.board, key)
            if value is not None:
                out[key] = value
        locked = self.clocks_locked
        if locked is not None:
            out['clocks_locked'] = float(locked)
        for core, khz in sorted(self.cpufreq_khz.items()):
            out[f'cpu{core}.freq_khz'] = khz
        if self.system is not None:
            for core, load in enumerate(self.system.cpu_load_pct):
                out[f'cpu{core}.load_pct'] = load
            if self.system.cpu_load_pct:
                out['cpu_load_pct'] = sum(self.system.cpu_load_pct) / len(
                    self.system.cpu_load_pct)
            out['mem_total_bytes'] = self.system.mem_total_bytes
            out['mem_available_bytes'] = self.system.mem_available_bytes
            out['mem_used_fraction'] = self.system.mem_used_fraction
            out['swap_total_bytes'] = self.system.swap_total_bytes
            out['swap_used_bytes'] = self.system.swap_used_bytes
            if self.system.suite_rss_bytes is not None:
                out['suite_rss_bytes'] = self.system.suite_rss_bytes
        if self.power_mode_id is not None:
            out['power_mode_id'] = self.power_mode_id
        for gpu in self.nvml:
            for key in ('load_pct', 'temp_c', 'power_mw', 'mem_used_bytes', 'mem_total_bytes',
                        'sm_clock_hz'):
                value = getattr(gpu, key)
                if value is not None:
                    out[f'nvml{gpu.index}.{key}'] = float(value)
        return out

    @property
    def clocks_locked(self) -> bool | None:
        """jetson_clocks state: the GPU clock pinned (devfreq min == max), if readable."""
        low, high = self.board.gpu_min_freq_hz, self.board.gpu_max_freq_hz
        return None if low is None or high is None else low == high

    def max_temp(self, zones: tuple[str, ...] = (), ignore: tuple[str, ...] = ()
                 ) -> tuple[str, float] | None:
        """Hottest zone among ``zones`` (all zones when empty), skipping ``ignore``."""
        pool = {z: t for z, t in self.temps_c.items()
                if z not in ignore and (not zones or z in zones)}
        for gpu in self.nvml:
            if gpu.temp_c is not None:
                pool[f'nvml{gpu.index}'] = float(gpu.temp_c)
        if not pool:
            return None
        zone = max(pool, key=pool.__getitem__)
        return zone, pool[zone]


class BoardMonitor:
    """Reads one board (real or a tree under ``root``) described by ``layout``."""

    def __init__(self, layout: Layout, root: SysfsRoot, *, use_psutil: bool = True,
                 use_nvml: bool = True, suite_pattern: str = '',
                 logger: logging.Logger | None = None) -> None:
        self.layout = layout
        self.root = root
        self._rails = RailReader(layout, root)
        self._zones = ThermalZoneReader(layout, root)
        self._system = SystemStatsReader(suite_pattern=suite_pattern) if use_psutil else None
        self._nvml = NvmlReader(logger=logger) if use_nvml else None

    def sample(self) -> Snapshot:
        temps = self._zones.read()
        rails = self._rails.read()
        board = read_gpu_emc_fan(self.layout, self.root)
        snap = Snapshot(
            stamp=time.monotonic(),
            temps_c=temps,
            rails=rails,
            total_power_mw=total_power_mw(self.layout, rails),
            board=board,
            cpufreq_khz=read_cpufreq_khz(self.layout, self.root),
            system=self._system.read() if self._system is not None else None,
            power_mode_id=read_nvpmodel_status(self.layout, self.root),
            nvml=tuple(self._nvml.read()) if self._nvml is not None else (),
        )
        missing = []
        if not temps:
            missing.append('thermal zones')
        if not rails and self.layout.rail_monitors:
            missing.append('power rails')
        if board.gpu_load_pct is None and self.layout.gpu_load:
            missing.append('gpu load')
        if board.fan_pwm is None and self.layout.fan.pwm_read:
            missing.append('fan')
        if snap.power_mode_id is None and self.layout.power_modes:
            missing.append('power mode')
        return dataclasses.replace(snap, missing=tuple(missing))

    def close(self) -> None:
        if self._nvml is not None:
            self._nvml.close()
