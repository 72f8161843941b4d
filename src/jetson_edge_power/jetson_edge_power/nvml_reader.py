"""Discrete NVIDIA GPUs through NVML (nvidia-ml-py), for desktops and x86 development hosts.

Imported lazily: a Jetson (no NVML), a laptop without the library, or one without a GPU all
simply report no NVML GPUs, with one INFO line saying why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class NvmlGpu:
    index: int
    name: str
    load_pct: float | None
    temp_c: float | None
    power_mw: float | None
    mem_used_bytes: int | None
    mem_total_bytes: int | None
    sm_clock_hz: float | None


class NvmlReader:
    """Opens NVML on first use; ``available`` tells whether there is anything to read."""

    def __init__(self, *, logger: logging.Logger | None = None) -> None:
        self._log = logger or _LOG
        self._nvml: Any = None
        self._handles: list[Any] = []
        self.reason = ''
        self._opened = False

    @property
    def available(self) -> bool:
        self._open()
        return bool(self._handles)

    def _open(self) -> None:
        if self._opened:
            return
        self._opened = True
        try:
            import pynvml
        except ImportError:
            self.reason = 'nvidia-ml-py is not installed'
        else:
            try:
                pynvml.nvmlInit()
                count = pynvml.nvmlDeviceGetCount()
                self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
                self._nvml = pynvml
                self.reason = f'{count} GPU(s)' if count else 'NVML reports no GPU'
            except pynvml.NVMLError as exc:
                self.reason = f'NVML unavailable ({exc})'
        self._log.info('NVML: %s', self.reason)

    def read(self) -> list[NvmlGpu]:
        self._open()
        gpus = []
        for index, handle in enumerate(self._handles):
            gpus.append(NvmlGpu(
                index=index,
                name=self._call('nvmlDeviceGetName', handle) or f'gpu{index}',
                load_pct=_attr(self._call('nvmlDeviceGetUtilizationRates', handle), 'gpu'),
                temp_c=self._call('nvmlDeviceGetTemperature', handle, 0),  # NVML_TEMPERATURE_GPU
                power_mw=self._call('nvmlDeviceGetPowerUsage', handle),
                mem_used_bytes=_attr(self._call('nvmlDeviceGetMemoryInfo', handle), 'used'),
                mem_total_bytes=_attr(self._call('nvmlDeviceGetMemoryInfo', handle), 'total'),
                sm_clock_hz=_scale(self._call('nvmlDeviceGetClockInfo', handle, 1), 1e6),
            ))
        return gpus

    def _call(self, name: str, *args: Any) -> Any:
        try:
            return getattr(self._nvml, name)(*args)
        except self._nvml.NVMLError:  # a query this GPU does not support: leave it out
            return None

    def close(self) -> None:
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except self._nvml.NVMLError:
                pass
        self._handles = []
        self._nvml = None


def _attr(obj: Any, name: str) -> Any:
    return None if obj is None else getattr(obj, name, None)


def _scale(value: Any, factor: float) -> float | None:
    return None if value is None else float(value) * factor
