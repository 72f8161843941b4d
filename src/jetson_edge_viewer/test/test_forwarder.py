"""The bounds between a ROS callback and the clients: rate caps, one slot per topic with counted
drops, conversion errors counted by reason; offer never waits."""

import threading

import pytest

from jetson_edge_viewer.errors import ConversionError
from jetson_edge_viewer.forwarder import Forwarder, Stream
from jetson_edge_viewer.health import ViewerHealth
from jetson_edge_viewer.mailbox import Mailbox
from jetson_edge_viewer.rate_cap import RateCap


class Channel:
    def __init__(self):
        self.logged = []
        self.subscribed = True

    def has_sinks(self):
        return self.subscribed

    def log(self, message, *, log_time):
        self.logged.append((message, log_time))


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def convert(payload):
    if payload == 'bad':
        raise ConversionError('not showable', reason='encoding')
    return payload.upper()


def forwarder(max_hz=10.0, clock=None):
    channel = Channel()
    stream = Stream('/camera', convert, channel, RateCap(max_hz))
    return Forwarder([stream], warn=lambda _m: None, clock=clock or Clock(), wall_ns=lambda: 42), channel


def test_rate_cap_admits_one_per_period_with_tolerance():
    cap = RateCap(5.0)
    admitted = [cap.admit(t * 0.1) for t in range(20)]  # 10 Hz offered
    assert sum(admitted) == 10 and cap.skipped == 10
    cap = RateCap(5.0)
    assert all(cap.admit(t * 0.199) for t in range(10))  # 5 Hz with jitter: all pass
    assert not RateCap(0.0).admit(1.0)
    with pytest.raises(ValueError):
        RateCap(-1)


def test_an_unread_message_is_replaced_and_counted():
    box = Mailbox()
    assert box.put('/a', 1, 0.0) and box.put('/b', 2, 0.0)
    assert not box.put('/a', 3, 0.0)
    assert box.dropped == {'/a': 1}
    assert box.take(0.0)[:2] == ('/b', 2)  # arrival order of the slots' latest content
    assert box.take(0.0)[:2] == ('/a', 3)
    assert box.take(0.0) is None


def test_forwarded_with_receive_time_and_counted():
    clock = Clock()
    f, channel = forwarder(clock=clock)
    for i in range(3):
        clock.t = i * 0.01  # 100 Hz against a 10 Hz cap
        f.offer('/camera', f'm{i}')
    assert f.forward_one(0.0) and not f.forward_one(0.0)
    assert channel.logged == [('M0', 42)]
    assert f.counts()['/camera'] == {'received': 3, 'unwatched': 0, 'rate_capped': 2, 'dropped': 0, 'sent': 1,
                                     'errors': 0}


def test_nothing_is_taken_while_no_client_subscribes():
    f, channel = forwarder()
    channel.subscribed = False
    f.offer('/camera', 'm0')
    assert not f.forward_one(0.0)
    assert f.counts()['/camera']['unwatched'] == 1 and f.streams['/camera'].cap.admitted == 0


def test_a_stalled_encoder_never_blocks_offer():
    clock = Clock()
    f, _ = forwarder(max_hz=1000.0, clock=clock)
    done = threading.Event()

    def publish():
        for i in range(10_000):
            clock.t += 0.01
            f.offer('/camera', f'm{i}')
        done.set()

    threading.Thread(target=publish).start()
    assert done.wait(10.0)  # nothing consumed the mailbox meanwhile
    assert f.mailbox.waiting() == 1
    assert f.counts()['/camera']['dropped'] == 9_999


def test_conversion_errors_are_counted_by_reason_and_reported():
    clock = Clock()
    f, channel = forwarder(clock=clock)
    f.offer('/camera', 'bad')
    f.forward_one(0.0)
    assert channel.logged == [] and f.streams['/camera'].errors == {'encoding': 1}
    health = ViewerHealth('ws://127.0.0.1:8765')
    status = health.evaluate(f.counts(), clients=1, outbox_overflows=0)
    assert status.level == 1 and 'not convertible' in status.message
    assert health.evaluate(f.counts(), clients=1, outbox_overflows=0).level == 0  # only new ones warn


def test_outbox_overflow_is_a_warning():
    status = ViewerHealth('ws://h:1').evaluate({}, clients=1, outbox_overflows=1,
                                               recent_overflow='a client stopped reading')
    assert status.level == 1 and 'stopped reading' in status.message


def test_a_server_that_cannot_bind_is_an_error():
    status = ViewerHealth('ws://h:1').evaluate({}, clients=0, outbox_overflows=0, server_problem='cannot serve')
    assert status.level == 2 and status.message == 'cannot serve'
