"""Prometheus endpoint exposing the same metrics as ``/diagnostics``, for fleet monitoring.

A custom collector reads the manager's latest :class:`~jetson_edge_power.manager.TickResult`
at scrape time, so scraping costs nothing between scrapes and the two outputs never drift.
prometheus-client is imported lazily: without it (or with the port 0) there is no endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from jetson_edge_power.manager import TickResult

PREFIX = 'jetson_edge'


def _families(result: TickResult) -> Iterator[Any]:
    from prometheus_client.core import GaugeMetricFamily

    snap, decision = result.snapshot, result.decision

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
        return GaugeMetricFamily(f'{PREFIX}_{name}', doc, labels=list(labels))

    temp = gauge('temperature_celsius', 'Thermal zone temperature', ('zone',))
    for zone, value in sorted(snap.temps_c.items()):
        temp.add_metric([zone], value)
    yield temp
    rails = {key: gauge(f'rail_{key}', f'Power rail {doc}', ('rail',)) for key, doc in (
        ('voltage_millivolts', 'bus voltage'), ('current_milliamps', 'current'),
        ('power_milliwatts', 'power'))}
    for name, rail in sorted(snap.rails.items()):
        for key, value in (('voltage_millivolts', rail.voltage_mv),
                           ('current_milliamps', rail.current_ma),
                           ('power_milliwatts', rail.power_mw)):
            if value is not None:
                rails[key].add_metric([name], value)
    yield from rails.values()
    scalars = [
        ('power_total_milliwatts', 'Board input power (total rail or sum of rails)',
         snap.total_power_mw),
        ('gpu_load_percent', 'Integrated GPU load', snap.board.gpu_load_pct),
        ('gpu_frequency_hertz', 'GPU clock', snap.board.gpu_freq_hz),
        ('emc_frequency_hertz', 'Memory controller clock', snap.board.emc_freq_hz),
        ('emc_utilization_percent', 'Memory controller utilisation', snap.board.emc_util_pct),
        ('fan_pwm', 'Fan PWM duty (0..pwm_max)', snap.board.fan_pwm),
        ('fan_rpm', 'Fan speed', snap.board.fan_rpm),
        ('power_mode_id', 'Active nvpmodel mode id', snap.power_mode_id),
        ('thermal_level', 'Policy level: 0 nominal, 1 warm, 2 hot, 3 critical',
         int(decision.level)),
        ('memory_level', 'Memory pressure: 0 ok, 1 warn, 2 error', int(decision.memory)),
        ('battery_low', '1 while the battery is below its threshold', int(decision.battery_low)),
        ('perception_load_request', 'Load level (0..1) the policy asks of perception',
         decision.perception_load),
    ]
    if snap.system is not None:
        scalars += [
            ('memory_total_bytes', 'Physical memory', snap.system.mem_total_bytes),
            ('memory_available_bytes', 'Available memory', snap.system.mem_available_bytes),
            ('swap_used_bytes', 'Swap in use', snap.system.swap_used_bytes),
            ('suite_rss_bytes', 'Resident memory of the suite\'s processes',
             snap.system.suite_rss_bytes),
        ]
    for name, doc, value in scalars:
        if value is not None:
            family = gauge(name, doc)
            family.add_metric([], float(value))
            yield family
    load = gauge('cpu_load_percent', 'CPU core load', ('cpu',))
    for core, value in enumerate(snap.system.cpu_load_pct if snap.system else ()):
        load.add_metric([str(core)], value)
    yield load
    freq = gauge('cpu_frequency_kilohertz', 'CPU core clock', ('cpu',))
    for core, value in sorted(snap.cpufreq_khz.items()):
        freq.add_metric([str(core)], value)
    yield freq
    nvml = gauge('nvml_gpu', 'Discrete GPU metric through NVML', ('gpu', 'metric'))
    for gpu in snap.nvml:
        for key in ('load_pct', 'temp_c', 'power_mw', 'mem_used_bytes', 'sm_clock_hz'):
            value = getattr(gpu, key)
            if value is not None:
                nvml.add_metric([str(gpu.index), key], float(value))
    yield nvml


class ManagerCollector:
    """prometheus-client collector over ``latest()`` (returns ``None`` before the first tick)."""

    def __init__(self, latest: Callable[[], TickResult | None]) -> None:
        self._latest = latest

    def collect(self) -> Iterator[Any]:
        result = self._latest()
        if result is not None:
            yield from _families(result)


class MetricsServer:
    """An HTTP ``/metrics`` endpoint on ``port`` (its own registry, its own thread)."""

    def __init__(self, latest: Callable[[], TickResult | None], *, port: int,
                 address: str = '0.0.0.0') -> None:
        try:
            from prometheus_client import CollectorRegistry, start_http_server
        except ImportError as exc:
            raise RuntimeError('prometheus_port is set but prometheus-client is not installed; '
                               'pip install prometheus-client or set prometheus_port to 0') from exc
        self.registry = CollectorRegistry()
        self.registry.register(ManagerCollector(latest))
        self._server, self._thread = start_http_server(port, addr=address,
                                                       registry=self.registry)
        self.port = self._server.server_port

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)
