"""The status view's core and its rendering, with an injected clock and the statuses the nodes
and the suite monitor publish (names and value keys as they send them)."""

from rich.console import Console

from jetson_edge_bringup.status_table import render
from jetson_edge_bringup.status_view import Entry, SuiteStatus
from jetson_edge_bringup.suite_monitor import ExpectedTopic, WatchedNode
from jetson_edge_common.diagnostics import Level

IMU = WatchedNode('imu', 'imu_node', (ExpectedTopic('/imu/data', 'sensor_msgs/msg/Imu', 100.0,
                                                    'sensor'),))
PERCEPTION = WatchedNode('perception', 'perception', (
    ExpectedTopic('/perception/detections', 'vision_msgs/msg/Detection2DArray', 2.0),))
POWER = WatchedNode('power_manager', 'power_manager')
RT = WatchedNode('rt_executor', 'rt_executor')


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def make(nodes=(IMU, PERCEPTION, POWER, RT)):
    clock = Clock()
    return SuiteStatus(nodes, profile='sim', clock=clock), clock


def own_statuses():
    return [
        Entry('imu_node: imu', Level.OK, 'OK'),
        Entry('perception: inference', Level.WARN, 'slow', {
            'processed_hz': '4.8', 'received_hz': '5.0', 'dropped_total': '3'}),
        Entry('power_manager: thermal policy', Level.OK, 'nominal: below warm', {
            'power_mode_target': '2 (MAXN_SUPER)'}),
        Entry('power_manager: board', Level.OK, '30 metrics', {
            'temp_c.cpu': '51.5', 'temp_c.gpu': '48.0', 'temp_c.tj': '53.25',
            'power_total_mw': '7350'}),
        Entry('rt_executor: control loop', Level.OK, 'OK', {
            'latency_p99_us': '61.2', 'overruns_total': '0', 'missed_cycles_total': '1'}),
    ]


def aggregate():
    return [
        Entry('/jetson_edge', Level.WARN, 'perception: inference: slow', {'nodes': '4'}),
        Entry('/jetson_edge/imu', Level.OK, 'OK'),
        Entry('/jetson_edge/imu/imu/data', Level.OK, '99.8 Hz', {'rate_hz': '99.8'}),
        Entry('/jetson_edge/perception', Level.WARN, 'inference: slow'),
        Entry('/jetson_edge/perception/perception/detections', Level.WARN,
              '1.2 Hz, below the floor', {'rate_hz': '1.2'}),
        Entry('/jetson_edge/power_manager', Level.OK, 'OK'),
        Entry('/jetson_edge/rt_executor', Level.OK, 'OK'),
    ]


def test_before_anything_arrives_every_node_waits():
    status, _clock = make()
    view = status.view()
    assert not view.heard and view.notes[0].startswith('nothing heard yet')
    assert [(n.key, n.level, n.message) for n in view.nodes] == [
        (k, Level.STALE, 'no answer yet') for k in ('imu', 'perception', 'power_manager',
                                                     'rt_executor')]
    assert all(t.rate_hz is None and t.level == Level.STALE for t in view.topics)


def test_the_monitor_verdict_and_rates_and_the_vitals():
    status, _clock = make()
    status.diagnostics(own_statuses())
    status.aggregate(aggregate())
    view = status.view()
    assert view.heard and view.notes == []
    assert (view.level, view.message) == (Level.WARN, 'perception: inference: slow')
    assert {n.key: (n.level, n.source) for n in view.nodes} == {
        'imu': (Level.OK, 'monitor'), 'perception': (Level.WARN, 'monitor'),
        'power_manager': (Level.OK, 'monitor'), 'rt_executor': (Level.OK, 'monitor')}
    assert [(t.topic, t.rate_hz, t.floor_hz, t.level) for t in view.topics] == [
        ('/imu/data', 99.8, 100.0, Level.OK),
        ('/perception/detections', 1.2, 2.0, Level.WARN)]
    vitals = {v.label: (v.value, v.level) for v in view.vitals}
    assert vitals['temperature'] == ('53.2 C max (tj), 3 zones', Level.OK)
    assert vitals['power mode'][0].startswith('2 (MAXN_SUPER), thermal nominal')
    assert vitals['power'] == ('7.35 W', Level.OK)
    assert vitals['perception'] == ('4.8 fps of 5.0 received, 3 dropped', Level.WARN)
    assert vitals['rt loop'] == ('p99 61.2 us, 0 overruns, 1 missed', Level.OK)
    assert vitals['imu rate'] == ('99.8 Hz (floor 100)', Level.OK)


def test_without_the_monitor_nodes_speak_for_themselves_and_the_view_says_so():
    status, _clock = make()
    status.diagnostics(own_statuses())
    view = status.view()
    assert view.notes and 'suite monitor is not running' in view.notes[0]
    rows = {n.key: n for n in view.nodes}
    assert (rows['perception'].level, rows['perception'].message) == (Level.WARN,
                                                                      'inference: slow')
    assert rows['imu'].source == 'node' and rows['imu'].message == 'OK'
    assert view.level == Level.WARN and 'perception: inference: slow' in view.message
    assert 'imu rate' not in {v.label for v in view.vitals}   # its rate is the monitor's


def test_a_node_that_goes_quiet_turns_error_and_stale_verdicts_expire():
    status, clock = make()
    status.diagnostics(own_statuses())
    status.aggregate(aggregate())
    clock.now += 10.0
    status.diagnostics([Entry('imu_node: imu', Level.OK, 'OK')])
    view = status.view()
    rows = {n.key: n for n in view.nodes}
    assert rows['imu'].level == Level.OK and rows['imu'].source == 'node'
    assert (rows['perception'].level, rows['perception'].message) == (Level.ERROR,
                                                                      'silent for 10.0 s')
    assert view.notes   # the aggregate is 10 s old: no monitor verdicts any more
    assert view.age_s == 10.0


def test_the_refresh_counter_counts_views():
    status, _clock = make()
    assert [status.view().refresh for _ in range(3)] == [1, 2, 3]


def test_render_as_plain_text_names_every_node_its_level_and_the_rates():
    status, _clock = make()
    status.diagnostics(own_statuses())
    status.aggregate(aggregate())
    console = Console(width=120, record=True, color_system=None, force_terminal=False)
    console.print(render(status.view(), wall_time=0.0))
    text = console.export_text()
    assert 'profile sim' in text and 'refresh 1 at' in text
    lines = {line.split()[0]: line.split() for line in text.splitlines() if line.split()}
    assert lines['imu'][:2] == ['imu', 'OK'] and lines['perception'][:2] == ['perception', 'WARN']
    assert lines['/imu/data'][1:4] == ['OK', '99.8', '100']
    assert lines['/perception/detections'][1:4] == ['WARN', '1.2', '2']
