"""Parser for ``tegrastats`` lines of JetPack 4 through 7, a second source next to sysfs.

The format drifted across releases; all of these parse:

* JetPack 4: ``POM_5V_IN 2149/2149`` (mW without unit), ``CPU [12%@1479,off]``,
  ``GR3D_FREQ 0%@921``, zones in mixed case (``CPU@37.5C``, ``thermal@36.5C``).
* JetPack 5: rails with units (``VDD_IN 4915mW/4915mW``), ``GR3D_FREQ 0%@[305,0]``.
* JetPack 6: lower-case zones (``cpu@47.5C``), ``GR3D_FREQ 0%`` without a clock,
  engines reported ``off`` (``NVDEC off``), a leading date stamp.
* JetPack 7 (r39): zones as ``cpu@50C/50C`` and rails as ``cur/avg/max`` triples.
* The oldest form ``CPU [4%,3%,off,off]@1734`` (one clock for all cores).

Zone names go through :func:`jetson_edge_power.readers.zone_key`; -256 C (sensor off) is
dropped.  A line with none of RAM, CPU, zones or rails raises :class:`TegrastatsParseError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from jetson_edge_power.errors import TegrastatsParseError
from jetson_edge_power.readers import zone_key

_STAMP = re.compile(r'^(\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2})\s+')
_RAM = re.compile(r'\bRAM (\d+)/(\d+)MB')
_SWAP = re.compile(r'\bSWAP (\d+)/(\d+)MB')
_CPU = re.compile(r'\bCPU \[([^\]]*)\](?:@(\d+))?')
_EMC = re.compile(r'\bEMC_FREQ (\d+)%(?:@(\d+))?')
_GR3D = re.compile(r'\bGR3D_FREQ (\d+)%(?:@\[?([\d,]+)\]?)?')
_TEMP = re.compile(r'(?<![\w@])([A-Za-z][\w-]*)@(-?\d+(?:\.\d+)?)C(?:/-?\d+(?:\.\d+)?C)?')
_RAIL = re.compile(r'(?<![\w@])([A-Z][A-Z0-9_]*) (\d+)(?:mW)?/(\d+)(?:mW)?(?:/(\d+)(?:mW)?)?'
                   r'(?=\s|$)')
_NOT_RAILS = {'RAM', 'SWAP', 'IRAM'}


@dataclass(frozen=True)
class CpuCore:
    load_pct: float | None  # None: core offline
    freq_mhz: float | None


@dataclass(frozen=True)
class TegrastatsSample:
    stamp: str | None = None
    ram_used_mb: int | None = None
    ram_total_mb: int | None = None
    swap_used_mb: int | None = None
    swap_total_mb: int | None = None
    cpus: tuple[CpuCore, ...] = ()
    emc_util_pct: float | None = None
    emc_freq_mhz: float | None = None
    gpu_util_pct: float | None = None
    gpu_freq_mhz: tuple[float, ...] = ()
    temps_c: dict[str, float] = field(default_factory=dict)
    rails_mw: dict[str, float] = field(default_factory=dict)
    rails_avg_mw: dict[str, float] = field(default_factory=dict)


def parse_tegrastats_line(line: str) -> TegrastatsSample:
    """Parse one line; raises :class:`TegrastatsParseError` if it holds no known field."""
    text = line.strip()
    stamp_match = _STAMP.match(text)
    stamp = stamp_match.group(1) if stamp_match else None
    ram = _RAM.search(text)
    swap = _SWAP.search(text)
    cpus = _parse_cpus(text)
    emc = _EMC.search(text)
    gr3d = _GR3D.search(text)
    temps = {}
    for name, value in _TEMP.findall(text):
        celsius = float(value)
        if celsius > -40.0:
            temps[zone_key(name)] = celsius
    rails, rails_avg = {}, {}
    for name, cur, avg, _peak in _RAIL.findall(text):
        if name in _NOT_RAILS or name == 'NC':  # NC: a channel with nothing connected
            continue
        rails[name] = float(cur)
        rails_avg[name] = float(avg)
    if not (ram or cpus or temps or rails):
        raise TegrastatsParseError(
            f'not a tegrastats line (no RAM, CPU, zone or rail field): {text[:80]!r}')
    return TegrastatsSample(
        stamp=stamp,
        ram_used_mb=int(ram.group(1)) if ram else None,
        ram_total_mb=int(ram.group(2)) if ram else None,
        swap_used_mb=int(swap.group(1)) if swap else None,
        swap_total_mb=int(swap.group(2)) if swap else None,
        cpus=cpus,
        emc_util_pct=float(emc.group(1)) if emc else None,
        emc_freq_mhz=float(emc.group(2)) if emc and emc.group(2) else None,
        gpu_util_pct=float(gr3d.group(1)) if gr3d else None,
        gpu_freq_mhz=tuple(float(f) for f in gr3d.group(2).split(',') if f)
        if gr3d and gr3d.group(2) else (),
        temps_c=temps,
        rails_mw=rails,
        rails_avg_mw=rails_avg,
    )


def _parse_cpus(text: str) -> tuple[CpuCore, ...]:
    match = _CPU.search(text)
    if not match:
        return ()
    shared_freq = float(match.group(2)) if match.group(2) else None
    cores = []
    for item in match.group(1).split(','):
        item = item.strip()
        if not item or item == 'off':
            cores.append(CpuCore(None, None))
            continue
        load, _, freq = item.partition('@')
        try:
            cores.append(CpuCore(float(load.rstrip('%')), float(freq) if freq else shared_freq))
        except ValueError:
            cores.append(CpuCore(None, None))
    return tuple(cores)


def tegrastats_metrics(sample: TegrastatsSample) -> dict[str, float]:
    """Flat metrics of a sample, named like :meth:`Snapshot.metrics` under ``tegrastats.``."""
    out: dict[str, float] = {}
    for zone, temp in sorted(sample.temps_c.items()):
        out[f'tegrastats.temp_c.{zone}'] = temp
    for rail, mw in sorted(sample.rails_mw.items()):
        out[f'tegrastats.rail.{rail}.power_mw'] = mw
    for key in ('ram_used_mb', 'ram_total_mb', 'swap_used_mb', 'swap_total_mb', 'emc_util_pct',
                'emc_freq_mhz', 'gpu_util_pct'):
        value = getattr(sample, key)
        if value is not None:
            out[f'tegrastats.{key}'] = float(value)
    for core, cpu in enumerate(sample.cpus):
        if cpu.load_pct is not None:
            out[f'tegrastats.cpu{core}.load_pct'] = cpu.load_pct
    return out
