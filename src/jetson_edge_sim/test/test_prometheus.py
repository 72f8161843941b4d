"""The Prometheus endpoint over real HTTP, fed by a manager on the sim board."""

import urllib.request

from jetson_edge_power.prometheus_export import MetricsServer
from jetson_edge_sim.power.sim_loop import build_sim_loop


def test_metrics_endpoint_serves_the_latest_tick(tmp_path):
    loop = build_sim_loop(tmp_path, use_psutil=True)
    server = MetricsServer(lambda: loop.manager.last, port=0, address='127.0.0.1')
    try:
        url = f'http://127.0.0.1:{server.port}/metrics'
        assert 'jetson_edge_temperature_celsius' not in urllib.request.urlopen(url).read().decode()
        loop.step(1.0)
        body = urllib.request.urlopen(url, timeout=5).read().decode()
    finally:
        server.close()
    lines = {line.split(' ')[0]: float(line.split(' ')[1]) for line in body.splitlines()
             if line.startswith('jetson_edge_')}
    snap = loop.manager.last.snapshot
    assert lines['jetson_edge_temperature_celsius{zone="tj"}'] == snap.temps_c['tj']
    assert lines['jetson_edge_rail_power_milliwatts{rail="VDD_IN"}'] == snap.total_power_mw
    assert lines['jetson_edge_power_mode_id'] == snap.power_mode_id == 0  # before the switch
    assert lines['jetson_edge_thermal_level'] == 0.0
    assert lines['jetson_edge_memory_total_bytes'] > 0
    assert 'jetson_edge_cpu_load_percent{cpu="0"}' in lines
