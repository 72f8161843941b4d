"""The whole ``sim`` profile as a product runs it: every node up together under the supervisor
for JETSON_EDGE_SUITE_SECONDS (60 by default), every topic the plan expects at its rate, and
every node's /diagnostics OK at the end, all seen from another process over real DDS."""

from __future__ import annotations

import os
import time

from jetson_edge_bringup.soak import expected_topics

from suite_helpers import (healthy, load_plan, monitored_topics, node_exits, node_statuses,
                           rate_between, wait_for, write_profile)

SECONDS = float(os.environ.get('JETSON_EDGE_SUITE_SECONDS', '60'))
RATE_SHARE = 0.8        # of each expected rate: what a loaded 2-core machine still delivers
STARTUP_S = 180.0       # model loading and discovery on a loaded machine
FRESH_S = 5.0           # the final statuses must be this recent (every node reports each 1 s)


def test_sim_profile_every_topic_at_rate_and_diagnostics_ok(start_suite, topic_monitor,
                                                           tmp_path):
    profile = write_profile(tmp_path)
    plan = load_plan(profile)
    expects = expected_topics(plan)
    names = [node.name for node in plan.nodes]
    assert {'imu_emulator', 'imu', 'rt_executor', 'lidar_sim', 'lidar', 'camera', 'perception',
            'thermal_model', 'power_manager'} <= {node.key for node in plan.nodes}
    monitor = topic_monitor(monitored_topics(plan))
    suite = start_suite(str(profile))

    def everything_up():
        assert suite.alive(), suite.output()[-3000:]
        stamps, latest = monitor.snapshot(), monitor.latest_diagnostics()
        return (all(stamps.values())
                and all(node_statuses(latest, name) for name in names))
    wait_for(everything_up, STARTUP_S, 'every expected topic and every node\'s diagnostics')

    start = time.monotonic()
    while time.monotonic() - start < SECONDS:
        assert suite.alive(), suite.output()[-3000:]
        time.sleep(1.0)
    end = time.monotonic()
    stamps, latest = monitor.snapshot(), monitor.latest_diagnostics()

    print(f'\n{"topic":<28} {"expected Hz":>11} {"measured Hz":>11}  over {end - start:.0f} s')
    rates = {}
    for topic, spec in expects.items():
        rates[topic] = rate_between(stamps[topic], start, end)
        print(f'{topic:<28} {float(spec["rate_hz"]):>11.1f} {rates[topic]:>11.2f}')
    slow = {topic: round(rate, 2) for topic, rate in rates.items()
            if rate < RATE_SHARE * float(expects[topic]['rate_hz'])}
    assert not slow, f'below {RATE_SHARE:.0%} of the expected rate: {slow}'

    assert not node_exits(suite.output()), node_exits(suite.output())
    for name in names:
        statuses = node_statuses(latest, name)
        assert statuses, f'{name} published no diagnostics'
        for status_name, (level, message, when, _values) in statuses.items():
            assert end - when < FRESH_S, f'{status_name}: last status {end - when:.1f} s old'
            assert healthy(status_name, level), f'{status_name}: level {level}: {message}'
