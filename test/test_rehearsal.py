"""Dress rehearsals: each Jetson profile started here by `jetson-edge rehearse`, only its
hardware endpoints on the sim's stand-ins (this test's own copy of them: port, pty, sysfs
tree). Every node must come to OK, or to WARN naming the piece of real hardware this machine
lacks; ERROR or silence fails. How long each profile took is printed."""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from jetson_edge_bringup.plan import build_plan
from jetson_edge_bringup.rehearsal import card_task, rehearsal_profile
from jetson_edge_common.profiles import load_profile

from suite_helpers import WARN, healthy, wait_for, write_profile
from system_helpers import ROOT, Suite

JETSONS = ['jetson_nano', 'jetson_tx2', 'xavier_nx', 'orin_nano', 'orin_nx', 'agx_orin']

# What a WARN may blame: real hardware this machine does not have.
MISSING_HARDWARE = re.compile(r'TensorRT|DLA|CUDA|GPU|\bfan\b|CPU \[\d')

SETTLE_TIMEOUT_S = 300.0  # a noisy 2-core VM loading two models; a healthy run needs far less


def _acceptable(name: str, level: int, message: str) -> bool:
    return healthy(name, level) or level == WARN and bool(MISSING_HARDWARE.search(message))


def _verdict(latest: dict, node_names: set[str]) -> tuple[bool, str]:
    """(every node reported and all its statuses are acceptable, a description of the state)."""
    lines, settled = [], True
    for node in sorted(node_names):
        statuses = {name: s for name, s in latest.items() if name.startswith(f'{node}: ')}
        if not statuses:
            settled = False
            lines.append(f'{node}: silent')
        for name, (level, message, _when, _values) in sorted(statuses.items()):
            fine = _acceptable(name, level, message)
            settled &= fine
            lines.append(f'{"  " if fine else "! "}{name}: level {level}: {message}')
    return settled, '\n'.join(lines)


@pytest.mark.long  # six profiles, each the whole robot plan started: about two minutes
@pytest.mark.parametrize('profile', JETSONS)
def test_rehearsal_comes_up(profile, tmp_path, topic_monitor):
    stand_ins = write_profile(tmp_path, name='stand_ins')
    rehearsal = rehearsal_profile(load_profile(profile), load_profile(str(stand_ins)),
                                  card_task=card_task)
    node_names = {node.name for node in build_plan(rehearsal.profile).nodes}
    monitor = topic_monitor({})
    log = tmp_path / 'rehearsal.log'
    start = time.monotonic()
    with open(log, 'wb') as handle:
        suite = Suite(subprocess.Popen(
            ['jetson-edge', 'rehearse', profile, '--stand-ins', str(stand_ins)],
            stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True), log)
    try:
        wait_for(lambda: _verdict(monitor.latest_diagnostics(), node_names)[0], SETTLE_TIMEOUT_S,
                 lambda: 'every node OK or WARN naming missing hardware:\n'
                         + _verdict(monitor.latest_diagnostics(), node_names)[1], interval=0.5)
        took = time.monotonic() - start
        assert suite.alive(), 'the rehearsal ended by itself'
    finally:
        code = suite.stop()
        print(f'--- {profile} rehearsal log (exit {code}) ---\n{suite.output()[-4000:]}')
    print(f'REHEARSAL {profile}: all {len(node_names)} nodes settled after {took:.1f} s\n'
          + _verdict(monitor.latest_diagnostics(), node_names)[1])
    output = suite.output()
    for override in rehearsal.overrides:
        assert str(override) in output, f'the log does not say {override}'
    assert 'registry-fetched card of the same task' in output
    assert code == 0, f'the rehearsal did not stop cleanly (exit {code})'
