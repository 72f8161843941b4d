"""Overlapping BNO055 sample reads over a real pseudo-terminal, the test playing the device on
the master side: the next request leaves on time while an answer is still on its way back, the
answers are matched to their requests, and a misframed stream is dropped, never misread."""

import os
import select
import threading
import tty

import pytest

from jetson_edge_imu import bno055_registers as reg
from jetson_edge_imu.bno055_uart import Bno055UartIO
from jetson_edge_imu.errors import ProtocolError

BLOCK = reg.FUSION_BLOCK
REQUEST = bytes((reg.UART_START, reg.UART_CMD_READ, *BLOCK))


class _Port:
    """The slave side of a pty, as pyserial would hand it over."""

    timeout = 1.0

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        os.close(self._fd)


@pytest.fixture
def line():
    master, slave = os.openpty()
    tty.setraw(slave)
    io = Bno055UartIO(_Port(slave), baud=2_000_000)
    yield io, master
    io.close()
    os.close(master)


def _answer(payload: bytes) -> bytes:
    return bytes((reg.UART_READ_OK, len(payload))) + payload


def _payload(n: int) -> bytes:
    return bytes((n + i) % 256 for i in range(BLOCK[1]))


def _requests(master: int) -> bytes:
    """What the device received so far."""
    got = b''
    while select.select([master], [], [], 0.05)[0]:
        got += os.read(master, 256)
    return got


def _single_exchange(io: Bno055UartIO, master: int) -> bytes:
    """A status read (CHIP_ID), answered by the device once its request is out."""
    answer = threading.Timer(0.1, os.write, (master, _answer(b'\xa0')))
    answer.start()
    try:
        return io.read(reg.CHIP_ID, 1)
    finally:
        answer.join()


def test_the_next_request_leaves_while_the_last_answer_is_still_on_its_way(line):
    io, master = line
    assert io.read_pipelined(*BLOCK, tag=1, wait_s=0.01) == []  # its answer is late
    assert io.read_pipelined(*BLOCK, tag=2, wait_s=0.0) == []
    assert _requests(master) == REQUEST * 2  # both requests reached the device
    assert io.stats.overlapped == 1
    os.write(master, _answer(_payload(1)) + _answer(_payload(2)))
    # answer 2 is taken once the answer after it shows where it ended
    assert io.read_pipelined(*BLOCK, tag=3, wait_s=0.1) == [(1, _payload(1))]
    os.write(master, _answer(_payload(3)))
    assert io.read_pipelined(*BLOCK, tag=4, wait_s=0.1) == [(2, _payload(2))]
    os.write(master, _answer(_payload(4)))
    _single_exchange(io, master)  # waits for what is in flight first, and keeps it
    assert io.read_pipelined(*BLOCK, tag=5, wait_s=0.0)[:2] == [(3, _payload(3)),
                                                                (4, _payload(4))]
    assert io.stats.corrupt_frames == 0 and io.stats.unanswered == 0


def test_an_answer_alone_on_a_quiet_line_is_taken_at_once(line):
    io, master = line
    threading.Timer(0.05, os.write, (master, _answer(_payload(9)))).start()
    assert io.read_pipelined(*BLOCK, tag=9, wait_s=1.0) == [(9, _payload(9))]
    assert io.stats.overlapped == 0


def test_no_request_while_the_last_exchange_may_still_be_on_the_wire():
    """At 9600 baud a request and its 34-byte answer take 40 ms on the wire: a request due
    sooner waits for that answer instead of reaching a device that is still talking."""
    master, slave = os.openpty()
    tty.setraw(slave)
    io = Bno055UartIO(_Port(slave), baud=9600)
    try:
        io.read_pipelined(*BLOCK, tag=1, wait_s=0.0)
        threading.Timer(0.02, os.write, (master, _answer(_payload(1)))).start()
        assert io.read_pipelined(*BLOCK, tag=2, wait_s=0.0) == [(1, _payload(1))]
        assert io.stats.overlapped == 0
    finally:
        io.close()
        os.close(master)


@pytest.mark.parametrize('stream', [
    'cut short',  # the first answer lost bytes: the second one's bytes would complete it
    'inserted byte',  # one byte too many between two answers
    'bad header',
])
def test_a_misframed_stream_is_dropped_and_counted_not_misread(line, stream):
    io, master = line
    io.read_pipelined(*BLOCK, tag=1, wait_s=0.01)
    io.read_pipelined(*BLOCK, tag=2, wait_s=0.0)
    first, second = _answer(_payload(1)), _answer(_payload(2))
    os.write(master, {'cut short': first[:-3] + second,
                      'inserted byte': first + b'\x55' + second,
                      'bad header': b'\x42' + first[1:] + second}[stream])
    with pytest.raises(ProtocolError):
        io.read_pipelined(*BLOCK, tag=3, wait_s=0.2)
    assert io.stats.corrupt_frames == 1 and io.stats.unanswered >= 2  # 1 and 2 at least
    # resynchronized: the next answers are matched to their requests again
    _requests(master)
    io.read_pipelined(*BLOCK, tag=4, wait_s=0.0)
    os.write(master, _answer(_payload(4)))
    assert _single_exchange(io, master) == b'\xa0'
    assert io.read_pipelined(*BLOCK, tag=5, wait_s=0.0)[0] == (4, _payload(4))


def test_an_answer_that_never_comes_is_a_counted_timeout(line):
    io, _ = line
    io.read_pipelined(*BLOCK, tag=1, wait_s=0.01)
    with pytest.raises(ProtocolError, match='read timeout'):
        io.read_pipelined(*BLOCK, tag=2, wait_s=2.0)
    assert io.stats.partial == 1 and io.stats.unanswered == 2
