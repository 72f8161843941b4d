"""The node container in this process, on real rclpy nodes: each member gets its own name and
parameter file, and a failure is routed to the member it belongs to."""

import threading

import pytest
import rclpy
from rclpy.node import Node

from jetson_edge_bringup import node_container
from jetson_edge_bringup.composition import Member
from jetson_edge_common.diagnostics import DiagnosticsPublisher, guard_threads
from jetson_edge_common.thread_guard import EXIT_THREAD_DIED, ThreadGuard


class Sensor(Node):
    def __init__(self, **node_options):
        super().__init__('sensor', **node_options)
        self.rate = self.declare_parameter('rate_hz', 1.0).value
        self.diagnostics = DiagnosticsPublisher(self)
        self._guard = guard_threads(self, self.diagnostics)
        self.reports = []
        self.diagnostics.set_fatal = self.reports.append   # what the guard reports, kept

    def reader(self):
        raise OSError('device vanished')


class Broken(Node):
    def __init__(self, **node_options):
        super().__init__('broken', **node_options)
        raise ValueError('no such model')


@pytest.fixture
def ros(monkeypatch):
    classes = {'sensor': Sensor, 'broken': Broken}
    monkeypatch.setattr(node_container, 'node_class', lambda _package, executable:
                        classes[executable])
    exits = []
    monkeypatch.setattr(ThreadGuard, 'exit_process', exits.append)
    previous = threading.excepthook
    rclpy.init()
    yield exits
    threading.excepthook = previous
    rclpy.try_shutdown()


def member(key, executable, tmp_path, rate):
    params = tmp_path / f'{key}.yaml'
    params.write_text(f'/{key}:\n  ros__parameters:\n    rate_hz: {rate}\n')
    return Member(key, 'test_pkg', executable,
                  ['--ros-args', '-r', f'__node:={key}', '--params-file', str(params)])


def test_each_member_has_its_own_name_and_parameter_file(ros, tmp_path):
    container = node_container.Container([member('front', 'sensor', tmp_path, 5.0),
                                          member('rear', 'sensor', tmp_path, 7.0)])
    front, rear = container.create()
    try:
        assert (front.get_name(), front.rate) == ('front', 5.0)
        assert (rear.get_name(), rear.rate) == ('rear', 7.0)
    finally:
        front.destroy_node()
        rear.destroy_node()


def test_a_dying_thread_is_reported_by_its_member_and_ends_the_container(ros, tmp_path, capsys):
    container = node_container.Container([member('front', 'sensor', tmp_path, 5.0),
                                          member('rear', 'sensor', tmp_path, 7.0)])
    front, rear = container.create()
    try:
        thread = threading.Thread(target=rear.reader, name='rear-reader')
        thread.start()
        thread.join(30)
        assert ros == [EXIT_THREAD_DIED]
        assert front.reports == [] and len(rear.reports) == 1
        assert "thread 'rear-reader' died: OSError: device vanished" in rear.reports[0]
        err = capsys.readouterr().err
        assert "[node_container] ERROR: member rear (test_pkg/sensor): thread 'rear-reader' " \
               "died: OSError: device vanished; the container of front, rear exits" in err
    finally:
        front.destroy_node()
        rear.destroy_node()


def test_a_member_that_cannot_start_is_named_and_the_others_are_destroyed(ros, tmp_path, capsys,
                                                                          monkeypatch):
    closed = []
    monkeypatch.setattr(node_container, 'close_node', lambda node: (closed.append(node.get_name()),
                                                                    node.destroy_node()))
    container = node_container.Container([member('front', 'sensor', tmp_path, 5.0),
                                          member('bad', 'broken', tmp_path, 1.0)])
    with pytest.raises(ValueError, match='no such model'):
        container.create()
    assert 'ERROR: member bad (test_pkg/broken) failed to start: ValueError: no such model' in \
        capsys.readouterr().err
    assert closed == ['front']   # the member made before it
