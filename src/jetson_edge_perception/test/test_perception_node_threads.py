"""The thread contract of the perception nodes: a worker thread (or a timer callback) that
dies is an ERROR on /diagnostics naming it, then the exit that makes respawn restart the node."""

import threading

from jetson_edge_common.testing import committed_fixture, kill_a_thread, ros_in_process
from jetson_edge_common.thread_guard import EXIT_THREAD_DIED


def test_a_dead_worker_reports_error_and_ends_the_perception_node(monkeypatch):
    from jetson_edge_perception.node import PerceptionNode
    from jetson_edge_perception.worker import PerceptionWorker

    go = threading.Event()

    def load_then_fail(self):
        go.wait(30)
        raise RuntimeError('injected backend bug')

    monkeypatch.setattr(PerceptionWorker, '_load', load_then_fail)
    with ros_in_process():
        node = PerceptionNode()
        try:
            exits, errors = kill_a_thread(node, go.set)
        finally:
            node.close()
            node.destroy_node()
    assert exits == [EXIT_THREAD_DIED]
    assert errors and all("thread 'perception-worker' died: RuntimeError: injected backend bug"
                          in e.message for e in errors)


def test_a_failing_capture_reports_error_and_ends_the_camera_node():
    from jetson_edge_perception.camera_node import CameraSourceNode

    def broken_read():
        raise RuntimeError('injected capture bug')

    with ros_in_process({'source': committed_fixture('images'), 'rate_hz': 20.0}):
        node = CameraSourceNode()
        try:
            exits, errors = kill_a_thread(
                node, lambda: setattr(node._source, 'read', broken_read), spin=True)
        finally:
            node.close()
            node.destroy_node()
    assert exits == [EXIT_THREAD_DIED]
    assert errors and all("thread 'executor' died: RuntimeError: injected capture bug"
                          in e.message for e in errors)
