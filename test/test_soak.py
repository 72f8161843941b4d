"""The soak: ``jetson-edge soak`` runs the sim profile for JETSON_EDGE_SOAK_MINUTES (10 by
default, as in CI) and judges it; this test checks its verdict and reads its report back.
Marked ``long`` (run by ``scripts/test.sh --long``) and ``soak``.

The profile is sim.yaml with this run's own UDP port, pty and sysfs tree (see
suite_helpers.write_profile), so a soak cannot meet another suite running on the machine.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from jetson_edge_bringup.soak import expected_topics
from jetson_edge_bringup.soak_report import MEMORY_GROWTH_LIMIT, RATE_FLOOR

from suite_helpers import load_plan, write_profile
from system_helpers import ROOT

MINUTES = float(os.environ.get('JETSON_EDGE_SOAK_MINUTES', '10'))


def _table(report: str, header: str) -> dict[str, list[str]]:
    """Rows of the report's table under ``header`` (first column -> the other columns)."""
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        first, *rest = line.split()
        rows[first] = rest
    return rows


@pytest.mark.long
@pytest.mark.soak
def test_soak_of_the_sim_profile(tmp_path):
    profile = write_profile(tmp_path, name='soak')
    plan = load_plan(profile)
    log = tmp_path / 'nodes.log'
    done = subprocess.run(['jetson-edge', 'soak', '--profile', str(profile), '--minutes',
                           str(MINUTES), '--log', str(log)], capture_output=True, text=True,
                          cwd=ROOT, timeout=MINUTES * 60 + 300)
    report = done.stdout
    print(report)
    assert done.returncode == 0, report + done.stderr[-3000:] + log.read_text()[-5000:]
    assert report.rstrip().endswith('soak passed')

    processes = _table(report, 'process')
    assert set(processes) == {process.key for process in plan.processes()}
    for key, (rss_start, rss_end, pss_end, growth, restarts, ok, floors,
              members) in processes.items():
        assert float(rss_start) > 10 and float(rss_end) > 10, (key, rss_start, rss_end)
        assert 0 < float(pss_end) < float(rss_end), (key, pss_end, rss_end)   # libraries shared
        assert float(growth.rstrip('%')) < MEMORY_GROWTH_LIMIT * 100, (key, growth)
        assert restarts == '0' and ok == 'yes', (key, restarts)
        assert float(floors) > 0.5, (key, floors)   # no process is far below a bare rclpy node
    # every node runs, in exactly one process
    in_processes = [m for *_, members in processes.values() for m in members.split(',')]
    assert sorted(in_processes) == sorted(node.key for node in plan.nodes)
    assert 'total PSS end' in report and 'total RSS end' in report

    topics = _table(report, 'topic')
    expects = expected_topics(plan)
    assert set(topics) == set(expects)
    for topic, (expected_hz, mean_hz, received, _max_gap, ok) in topics.items():
        assert float(expected_hz) == float(expects[topic]['rate_hz'])
        assert float(mean_hz) >= RATE_FLOOR * float(expected_hz), (topic, mean_hz)
        assert int(received) > 0 and ok == 'yes', topic

    diagnostics = report[report.index('diagnostics (last level)'):].splitlines()[1:]
    named = {line.split()[1].rstrip(':') for line in diagnostics if line.startswith('  ')}
    assert {node.name for node in plan.nodes} <= named, named
    assert not [line for line in diagnostics if line.startswith(('  ERROR', '  STALE'))]
    assert 'restarting in' not in log.read_text()
