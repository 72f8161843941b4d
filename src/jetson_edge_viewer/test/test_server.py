"""The SDK's WebSocket server as the viewer runs it, read by the spec-written client over a real
loopback socket: what is logged arrives and decodes; a subscribed client that never reads holds
up neither the logging nor the other client; the SDK's outbox-full notice is counted."""

import logging
import time

import pytest
from foxglove.messages import CompressedImage, Timestamp

from jetson_edge_viewer.server import OutboxWatch, ViewerServer
from jetson_edge_viewer.testing import FoxgloveClient, protobuf_decoder

TOPIC = '/camera/image_raw'


def wait(condition, timeout=20.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, 'condition not met in time'
        time.sleep(0.05)


@pytest.fixture
def server():
    s = ViewerServer(name='test', host='127.0.0.1', port=0, backlog=16)
    assert s.start() and s.problem == ''
    yield s
    s.stop()


def image(i: int, size: int) -> CompressedImage:
    return CompressedImage(timestamp=Timestamp(5, i), frame_id='cam', data=bytes(size), format='jpeg')


def subscribed(server: ViewerServer, **kwargs) -> FoxgloveClient:
    client = FoxgloveClient(server.address, **kwargs)
    if kwargs.get('read', True):
        wait(lambda: TOPIC in client.topics())
    else:
        client.read_until_advertised({TOPIC}, 20)
    client.subscribe([TOPIC])
    return client


def test_logged_messages_arrive_and_decode(server):
    channel = server.image_channel(TOPIC)
    client = subscribed(server)
    wait(lambda: server.clients() == 1)
    for i in range(5):
        channel.log(image(i, 100), log_time=1000 + i)
        time.sleep(0.02)
    wait(lambda: len(client.received(TOPIC)) == 5)
    info = client.topics()[TOPIC]
    decoded = protobuf_decoder(info.schema_name, info.schema)(client.received(TOPIC)[-1].payload)
    assert (decoded.frame_id, decoded.timestamp.nanos, len(decoded.data)) == ('cam', 4, 100)
    assert client.received(TOPIC)[-1].log_time_ns == 1004
    client.close()
    wait(lambda: server.clients() == 0)


def test_a_client_that_never_reads_holds_nothing_up(server):
    channel = server.image_channel(TOPIC)
    reader = subscribed(server)
    staller = subscribed(server, read=False)
    wait(lambda: server.clients() == 2)
    frames = 100
    for i in range(frames):  # 40 MB for a client that takes nothing after its first few frames
        channel.log(image(i, 400_000), log_time=i)
        time.sleep(0.005)
    wait(lambda: len(reader.received(TOPIC)) == frames)
    staller.close()
    reader.close()


def test_outbox_notices_are_counted():
    watch = OutboxWatch(clock=lambda: 100.0)
    log = logging.getLogger('foxglove.test_outbox')
    log.addHandler(watch)
    log.setLevel(logging.INFO)
    log.info('outbox for client 127.0.0.1:5000 full')
    log.info('client connected')
    assert watch.count == 1
    assert '127.0.0.1:5000' in watch.recent(30.0)
    log.removeHandler(watch)


def test_a_taken_port_is_a_reported_problem_not_a_crash(server):
    second = ViewerServer(name='second', host='127.0.0.1', port=server.port, backlog=16)
    assert not second.start()
    assert 'Address already in use' in second.problem and not second.started
    second.stop()
