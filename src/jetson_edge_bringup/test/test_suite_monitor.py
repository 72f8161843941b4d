"""The suite monitor's core with an injected clock: silence, restarts, rate floors, recovery."""

import pytest

from jetson_edge_bringup.runner_status import (GIVEN_UP, RESTARTING, RUNNING, RunnerStatus,
                                               StatusFileError, read_status, write_status)
from jetson_edge_bringup.suite_monitor import (ExpectedTopic, MonitorConfig, SuiteMonitor,
                                               WatchedNode, runner_report)
from jetson_edge_common.diagnostics import Level


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


PERCEPTION = WatchedNode('perception', 'perception', (
    ExpectedTopic('/perception/detections', 'vision_msgs/msg/Detection2DArray', 2.0),))
RT = WatchedNode('rt_executor', 'rt_executor', (
    ExpectedTopic('/rt/timing', 'jetson_edge_msgs/msg/LoopTiming', 1.0),))
CONFIG = MonitorConfig(silence_s=1.5, missed_periods=3.0, rate_window_s=5.0, rate_share=0.8,
                       startup_grace_s=10.0, restart_hold_s=10.0)


def make(nodes=(PERCEPTION, RT)):
    clock = Clock()
    return SuiteMonitor(nodes, CONFIG, clock=clock), clock


def feed(monitor, clock, seconds, *, period=0.2, nodes=(PERCEPTION, RT), skip=()):
    """Every node of ``nodes`` not in ``skip`` publishes its status and topics each ``period``."""
    end = clock.now + seconds
    while clock.now < end - 1e-9:
        clock.now += period
        for node in nodes:
            if node.key in skip:
                continue
            monitor.status_arrived(f'{node.name}: main', 0, 'fine')
            for topic in node.expects:
                monitor.topic_arrived(topic.topic)


def reports(monitor):
    return {r.name: r for r in monitor.evaluate()}


def test_a_healthy_suite_is_ok_per_node_and_per_topic():
    monitor, clock = make()
    feed(monitor, clock, 6.0)
    got = reports(monitor)
    assert list(got) == ['/jetson_edge', '/jetson_edge/perception',
                         '/jetson_edge/perception/perception/detections',
                         '/jetson_edge/rt_executor', '/jetson_edge/rt_executor/rt/timing']
    assert {r.level for r in got.values()} == {Level.OK}
    assert got['/jetson_edge/perception/perception/detections'].values['rate_hz'] == 5.0
    assert monitor.findings().level == Level.OK


def test_a_silent_node_is_an_error_naming_it_within_the_silence_bound():
    monitor, clock = make()
    feed(monitor, clock, 6.0)
    feed(monitor, clock, 1.4, skip={'perception'})      # hung: nothing from it
    assert reports(monitor)['/jetson_edge/perception'].level == Level.OK
    feed(monitor, clock, 0.2, skip={'perception'})      # 1.6 s of silence
    got = reports(monitor)
    node = got['/jetson_edge/perception']
    assert node.level == Level.ERROR
    assert 'silent for 1.6 s' in node.message and '/diagnostics' in node.message
    assert 'perception/detections' in node.message
    assert got['/jetson_edge/perception/perception/detections'].level == Level.ERROR
    assert got['/jetson_edge/rt_executor'].level == Level.OK
    for summary in (got['/jetson_edge'], monitor.findings()):
        assert summary.level == Level.ERROR
        assert summary.message.startswith('perception: silent for 1.6 s')


def test_a_slow_topic_is_silent_after_missed_periods_of_its_floor():
    monitor, clock = make()
    feed(monitor, clock, 6.0)
    # rt/timing's floor is 1 Hz: silent only after 3 periods, though its node still reports
    feed(monitor, clock, 2.0, nodes=(PERCEPTION,))
    assert reports(monitor)['/jetson_edge/rt_executor/rt/timing'].level == Level.OK
    assert reports(monitor)['/jetson_edge/rt_executor'].level == Level.ERROR  # its diagnostics
    only_topic_silent = WatchedNode('rt_executor', 'rt_executor', RT.expects)
    monitor, clock = make((only_topic_silent,))
    feed(monitor, clock, 6.0, nodes=(only_topic_silent,))
    for _ in range(14):
        clock.now += 0.25
        monitor.status_arrived('rt_executor: loop', 0, 'fine')
    assert reports(monitor)['/jetson_edge/rt_executor/rt/timing'].level == Level.ERROR


def test_a_rate_below_the_plans_floor_is_a_warning():
    monitor, clock = make()
    feed(monitor, clock, 6.0)
    end = clock.now + 6.0
    while clock.now < end:     # perception at 1 Hz (floor 2 Hz), still within the silence bound
        clock.now += 1.0
        for node in (PERCEPTION, RT):
            monitor.status_arrived(f'{node.name}: main', 0, 'fine')
        monitor.topic_arrived('/perception/detections')
        monitor.topic_arrived('/rt/timing')
    got = reports(monitor)
    topic = got['/jetson_edge/perception/perception/detections']
    assert topic.level == Level.WARN
    assert topic.message.endswith(' Hz, below the floor of 1.6 Hz (80% of 2 Hz)')
    assert got['/jetson_edge/perception'].level == Level.WARN
    assert got['/jetson_edge/rt_executor'].level == Level.OK
    assert monitor.findings().level == Level.WARN


def test_a_topic_the_monitor_cannot_subscribe_to_is_an_error_not_a_crash():
    monitor, clock = make()
    monitor.topic_unwatchable('/rt/timing', "cannot load type 'x/msg/Y'")
    feed(monitor, clock, 6.0)
    got = reports(monitor)
    assert got['/jetson_edge/rt_executor/rt/timing'].level == Level.ERROR
    assert got['/jetson_edge/rt_executor'].level == Level.ERROR
    assert got['/jetson_edge/rt_executor'].message == \
        "rt/timing: not watched: cannot load type 'x/msg/Y'"


def test_a_node_that_never_starts_is_stale_then_an_error_after_the_grace():
    monitor, clock = make()
    clock.now += 5.0
    got = reports(monitor)
    assert got['/jetson_edge/perception'].level == Level.STALE
    assert got['/jetson_edge'].level == Level.STALE
    clock.now += 6.0
    node = reports(monitor)['/jetson_edge/perception']
    assert node.level == Level.ERROR and 'nothing on /diagnostics' in node.message


def test_a_restarting_node_is_an_error_then_a_warning_then_recovers():
    monitor, clock = make()
    monitor.runner_update('perception', RunnerStatus('perception', node_pid=10, starts=1))
    feed(monitor, clock, 6.0)
    killed = RunnerStatus('perception', state=RESTARTING, starts=1, last_exit='signal 9 (SIGKILL)',
                          message='perception exited with signal 9 (SIGKILL); restarting in '
                                  '1.0 s (attempt 1 of 5)', delay_s=1.0)
    monitor.runner_update('perception', killed)
    node = reports(monitor)['/jetson_edge/perception']
    assert node.level == Level.ERROR
    assert node.message.startswith('down: perception exited with signal 9 (SIGKILL)')
    assert runner_report(killed, 'perception')[0] == Level.WARN

    clock.now += 1.0
    again = RunnerStatus('perception', state=RUNNING, node_pid=11, starts=2,
                         last_exit='signal 9 (SIGKILL)')
    monitor.runner_update('perception', again)
    feed(monitor, clock, 2.0, skip={'perception'})      # loading its models: a new grace
    node = reports(monitor)['/jetson_edge/perception']
    assert node.level == Level.STALE and node.values['restarts'] == 1
    feed(monitor, clock, 2.0)
    node = reports(monitor)['/jetson_edge/perception']
    assert node.level == Level.WARN
    assert 'restarted 4.0 s ago after signal 9 (SIGKILL)' in node.message
    assert runner_report(again, 'perception') == (
        Level.OK, 'perception running (pid 11), 1 restart(s), last exit signal 9 (SIGKILL)')
    feed(monitor, clock, 7.0)                           # the hold is over: recovered
    assert reports(monitor)['/jetson_edge/perception'].level == Level.OK


def test_a_stopped_node_recovers_when_it_speaks_again():
    monitor, clock = make()
    feed(monitor, clock, 6.0)
    feed(monitor, clock, 3.0, skip={'perception'})
    assert reports(monitor)['/jetson_edge/perception'].level == Level.ERROR
    feed(monitor, clock, 0.4)                           # SIGCONT: it catches up
    assert reports(monitor)['/jetson_edge/perception'].level == Level.OK


def test_a_given_up_node_is_an_error_and_its_own_warnings_stay_off_the_findings():
    monitor, clock = make()
    feed(monitor, clock, 6.0)
    monitor.status_arrived('rt_executor: control loop', 1, '7 overruns')
    got = reports(monitor)
    assert got['/jetson_edge/rt_executor'].level == Level.WARN
    assert got['/jetson_edge/rt_executor'].message == 'control loop: 7 overruns'
    assert monitor.findings().level == Level.OK   # the node says so itself on /diagnostics
    gone = RunnerStatus('perception', state=GIVEN_UP, starts=6, message='perception keeps dying')
    monitor.runner_update('perception', gone)
    assert reports(monitor)['/jetson_edge/perception'].level == Level.ERROR
    assert runner_report(gone, 'perception') == (Level.ERROR, 'perception keeps dying')
    assert monitor.findings().message == 'perception: not running: perception keeps dying'


def test_runner_status_files_round_trip_and_refuse_garbage(tmp_path):
    path = tmp_path / 'k.runner.json'
    assert read_status(path) is None
    status = RunnerStatus('k', state=RESTARTING, node_pid=0, starts=2, last_exit='code 3',
                          events=[(1.5, 'k exited with code 3')])
    write_status(path, status)
    assert read_status(path) == status
    path.write_text('{"key": "k", "state": "dancing"}')
    with pytest.raises(StatusFileError, match='unknown state'):
        read_status(path)
    path.write_text('not json')
    with pytest.raises(StatusFileError, match='not a node_runner status'):
        read_status(path)
