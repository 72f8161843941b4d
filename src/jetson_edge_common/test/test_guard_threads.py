"""``guard_threads`` on a fake node: a dying thread turns every diagnostics task ERROR naming
it, that is published and waited for, and only then does the process exit."""

import threading

from jetson_edge_common.diagnostics import DiagnosticsPublisher, Level, Status, guard_threads
from jetson_edge_common.thread_guard import EXIT_THREAD_DIED, ThreadGuard


class FakePublisher:
    def __init__(self, events):
        self.events = events

    def publish(self, msg):
        self.events.append(('publish', [(s.name, s.level, s.message) for s in msg.status]))

    def wait_for_all_acked(self, timeout):
        self.events.append(('acked', timeout.nanoseconds))
        return True


class FakeNode:
    def __init__(self, events):
        self.events = events

    def create_publisher(self, *_args):
        return FakePublisher(self.events)

    def create_timer(self, *_args):
        return None

    def get_name(self):
        return 'fake'

    def get_logger(self):
        events = self.events

        class Logger:
            def error(self, message):
                events.append(('error', message))
        return Logger()

    def get_clock(self):
        from rclpy.clock import Clock
        return Clock()


def test_a_dead_thread_publishes_error_on_every_task_then_exits(monkeypatch):
    events: list = []
    monkeypatch.setattr(ThreadGuard, 'exit_process', lambda code: events.append(('exit', code)))
    previous = threading.excepthook
    try:
        node = FakeNode(events)
        diagnostics = DiagnosticsPublisher(node)
        diagnostics.add('input', lambda: Status.ok('receiving', packets=3))
        diagnostics.add('output', lambda: Status.warn('slow'))
        guard = guard_threads(node, diagnostics)

        def reader():
            raise KeyError('injected')

        thread = threading.Thread(target=reader, name='reader')
        thread.start()
        thread.join(30)
    finally:
        threading.excepthook = previous
    assert guard.death is not None and guard.death.thread == 'reader'
    kinds = [e[0] for e in events]
    assert kinds == ['error', 'publish', 'acked', 'exit']
    assert events[-1] == ('exit', EXIT_THREAD_DIED)
    expected = "thread 'reader' died: KeyError: 'injected'; the node exits to be restarted"
    assert events[1][1] == [('fake: input', bytes([Level.ERROR]), expected),
                            ('fake: output', bytes([Level.ERROR]), expected)]
    statuses = dict(diagnostics.statuses())
    assert statuses['input'].values == {'packets': 3}   # the task's values are kept
