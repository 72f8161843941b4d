"""Process groups in the running suite: the sim's light nodes composed in one ``node_container``
under ``jetson-edge up``, each still seen over real DDS with its own topics and diagnostics;
the group killed or one member failing, and the group restarted as a whole."""

from __future__ import annotations

import os
import signal
import time

from suite_helpers import (current_pids, load_plan, monitored_topics, node_statuses, started,
                           wait_for, write_profile)

STARTUP_S = 180.0
RESTART_S = 90.0
LIGHT = ['camera', 'thermal_model', 'power_manager', 'viewer']


def _profile(tmp_path, nodes: dict | None = None):
    return write_profile(tmp_path, nodes or {}, name='composed')


def test_a_group_runs_its_members_in_one_process_and_restarts_them_together(start_suite,
                                                                          topic_monitor,
                                                                          tmp_path):
    profile = _profile(tmp_path)
    plan = load_plan(profile, only=LIGHT)
    assert [(p.key, sorted(m.key for m in p.members)) for p in plan.processes()] == [
        ('light', sorted(LIGHT)), ('monitor', ['monitor'])]
    monitor = topic_monitor(monitored_topics(plan))
    suite = start_suite(str(profile), only=LIGHT)
    names = [node.name for node in plan.nodes]

    def heard_since(since: float) -> list[str]:
        """The nodes with no diagnostics since ``since``, and the topics with none either."""
        latest = monitor.latest_diagnostics()
        quiet = [name for name in names
                 if not any(when > since for _, _, when, _ in node_statuses(latest, name).values())]
        return quiet + [t for t, stamps in monitor.snapshot().items()
                        if not any(s > since for s in stamps)]

    begun = time.monotonic()
    wait_for(lambda: suite.alive() and not heard_since(begun), STARTUP_S,
             lambda: f'every member\'s diagnostics and topics (missing: {heard_since(begun)})')
    assert set(current_pids(suite.output())) == {'light', 'monitor'}
    composing = next(line for line in suite.output().splitlines() if 'composing ' in line)
    assert all(f'{n.key} ({n.package}/{n.executable})' in composing for n in plan.nodes
               if n.key != 'monitor'), composing

    old = current_pids(suite.output())['light']
    os.kill(old, signal.SIGKILL)
    new = wait_for(lambda: current_pids(suite.output())['light'] != old
                   and current_pids(suite.output())['light'], RESTART_S, 'the group restarted')
    restarted = time.monotonic()
    wait_for(lambda: suite.alive() and not heard_since(restarted), RESTART_S,
             lambda: f'every member back after the restart (missing: {heard_since(restarted)})')
    assert [key for key, _ in started(suite.output())].count('light') == 2
    assert [key for key, _ in started(suite.output())].count('monitor') == 1
    # the monitor relays the group's runner for each member: killed, then restarted once
    for key in LIGHT:
        status = monitor.latest_diagnostics().get(f'node_runner: {key}')
        assert status is not None, key
    print(f'light: pid {old} killed, back as pid {new}, every member heard '
          f'{time.monotonic() - restarted:.1f} s after the restart')


def test_a_member_that_fails_ends_its_group_with_an_error_naming_it(start_suite, tmp_path):
    profile = _profile(tmp_path, {'power_manager': {'parameters': {
        'layout_file': str(tmp_path / 'no-such-layout.yaml')}}})
    suite = start_suite(str(profile), only=['thermal_model', 'power_manager'])
    wait_for(lambda: [key for key, _ in started(suite.output())].count('light') >= 2, RESTART_S,
             lambda: 'the group started again after its member failed: '
                     + suite.output()[-3000:])
    log = suite.output()
    assert ('[node_container] ERROR: member power_manager (jetson_edge_power/power_manager_node) '
            'failed to start: LayoutError: cannot read layout file') in log, log[-3000:]
    assert 'the container of power_manager, thermal_model exits' in log
    assert '[node_runner] light exited with code 2' in log, log[-3000:]
