"""Where packets come from: a live UDP socket or a pcap replay, behind one interface.

Both return :class:`PacketBatch` from ``receive(timeout_s)``, so the driver loop and the
decoder run the same code for a sensor on the wire and for a recording (the way the
Velodyne ROS driver's ``Input`` classes do). Replay stamps packets with the host clock when
it hands them out, exactly as the socket does.
"""

from __future__ import annotations

import errno
import select
import socket
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Protocol

from . import input_stats as reasons
from .errors import SourceError
from .input_stats import InputStats
from .pcap import CapturedDatagram, read_udp_payloads

DEFAULT_PORT = 2368
#: Big enough for ~2 s of a VLP-32C in dual mode, so a stalled consumer loses nothing.
DEFAULT_RCVBUF_BYTES = 8 * 1024 * 1024
#: While packets flow, packets queue in the socket for at most this long before a read takes
#: all of them: one wake-up per read instead of one per packet (a VLP-16 sends every 1.33 ms).
#: The driver times reads to the end of each scan, so this bounds only the reads between.
#: Receive times come from the kernel, so stamps stay exact however long a packet queued.
#: A read that finds nothing goes back to waiting for the next packet.
DEFAULT_BATCH_WINDOW_S = 0.1
_MAX_DATAGRAM = 4096
#: Socket-buffer memory one queued data packet may take (the kernel's skb truesize: 2,304
#: bytes for a 1,206 byte datagram on loopback, a whole 4 KB page with some NIC drivers).
_QUEUED_DATAGRAM_BYTES = 4096
#: Linux's SO_TIMESTAMPNS (asm-generic, so x86-64 and arm64 alike); Python does not name it.
#: The kernel then stamps every datagram on arrival, as a struct timespec of two longs.
_SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct('@ll')
_ANCILLARY_BYTES = socket.CMSG_SPACE(_TIMESPEC.size)


@dataclass
class PacketBatch:
    packets: list[bytes] = field(default_factory=list)
    recv_times: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.packets)


class PacketSource(Protocol):
    """What the driver reads from."""

    description: str

    #: Datagrams the source can hold before it drops (None: it cannot overflow).
    capacity_packets: int | None

    def receive(self, timeout_s: float, read_after_s: float | None = None) -> PacketBatch:
        """Packets that arrived (or became due), waiting up to ``timeout_s`` for the first.

        ``read_after_s``: while packets flow, let them queue this long before reading (a
        live source caps it at its batch window; a replay hands out what is due).
        """

    @property
    def exhausted(self) -> bool:
        """True once a finite source (a replay without looping) has nothing more to give."""

    def close(self) -> None:
        """Release the socket or file."""


class UdpSource:
    """Velodyne data packets from a UDP socket.

    ``sensor_ip`` (optional) keeps only datagrams from that sender, for networks where
    something else also sends to the port. ``batch_window_s`` is the longest packets queue
    between reads while they flow (see :data:`DEFAULT_BATCH_WINDOW_S`; 0 reads as soon as a
    packet is there). Receive times are the kernel's arrival stamps, however long a packet
    waited. After opening, ``rcvbuf_bytes`` holds what the kernel granted,
    ``capacity_packets`` how many data packets that buffer holds at worst, and
    ``rcvbuf_warning`` says what to do when the kernel granted less than asked.
    """

    def __init__(self, *, port: int = DEFAULT_PORT, address: str = '0.0.0.0',
                 sensor_ip: str = '', rcvbuf_bytes: int = DEFAULT_RCVBUF_BYTES,
                 batch_window_s: float = DEFAULT_BATCH_WINDOW_S, max_batch: int = 512,
                 stats: InputStats | None = None) -> None:
        if batch_window_s < 0:
            raise SourceError(f'batch window must be >= 0 s, got {batch_window_s}')
        self.stats = stats if stats is not None else InputStats()
        self._sensor_ip = sensor_ip
        self._batch_window_s = batch_window_s
        self._streaming = False
        self._backlog = False
        self._max_batch = max_batch
        self.rcvbuf_warning: str | None = None
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf_bytes)
            # Linux reports twice the size it granted: the budget each queued datagram's
            # truesize (payload plus bookkeeping) is charged against.
            budget = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            granted = budget // 2
            sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            sock.bind((address, port))
        except OSError as exc:
            sock.close()
            hint = (' (another driver or virtual sensor listener already uses it?)'
                    if exc.errno == errno.EADDRINUSE else '')
            raise SourceError(f'cannot listen for LiDAR packets on UDP {address}:{port}: '
                              f'{exc.strerror}{hint}') from exc
        if granted < rcvbuf_bytes:
            self.rcvbuf_warning = (f'kernel granted a {granted} byte receive buffer instead '
                                   f'of {rcvbuf_bytes}; raise net.core.rmem_max (sysctl -w '
                                   f'net.core.rmem_max={rcvbuf_bytes}) to avoid packet loss '
                                   f'when the driver stalls')
        sock.setblocking(False)
        self.rcvbuf_bytes = granted
        self.capacity_packets = budget // _QUEUED_DATAGRAM_BYTES
        self._socket = sock
        self.address = sock.getsockname()
        self.description = f'UDP {self.address[0]}:{self.address[1]}'

    @property
    def exhausted(self) -> bool:
        return False

    def receive(self, timeout_s: float, read_after_s: float | None = None) -> PacketBatch:
        batch = PacketBatch()
        if not self._streaming:
            readable, _, _ = select.select([self._socket], [], [], max(timeout_s, 0.0))
            if not readable:
                return batch
        elif not self._backlog:  # (a read that stopped at max_batch reads on at once)
            # Packets are flowing: let them queue, then take whatever arrived meanwhile.
            window = self._batch_window_s
            time.sleep(window if read_after_s is None else min(max(read_after_s, 0.0), window))
        arrived = False
        self._backlog = True
        for _ in range(self._max_batch):
            try:
                data, ancillary, _, sender = self._socket.recvmsg(_MAX_DATAGRAM,
                                                                  _ANCILLARY_BYTES)
            except BlockingIOError:
                self._backlog = False
                break
            except OSError as exc:
                # ICMP errors from earlier sends surface here on some stacks; not data.
                if exc.errno in (errno.ECONNREFUSED, errno.EINTR):
                    continue
                raise SourceError(f'reading {self.description} failed: {exc.strerror}') from exc
            arrived = True
            if self._sensor_ip and sender[0] != self._sensor_ip:
                self.stats.drop(reasons.WRONG_SENDER, f'datagram from {sender[0]}, '
                                f'expected sensor {self._sensor_ip}')
                continue
            batch.packets.append(data)
            batch.recv_times.append(_arrival_time(ancillary))
        # Nothing in a whole window (or no window): wait in select for the next packet.
        self._streaming = bool(self._batch_window_s) and arrived
        return batch

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> UdpSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PcapSource:
    """Replays the UDP payloads of a capture, paced by its timestamps.

    ``rate`` 1.0 replays at the recorded speed, 2.0 twice as fast, 0 as fast as possible.
    ``loop`` starts over at the end, continuing the time line one packet interval after the
    last packet. ``port`` keeps only datagrams sent to that port (None: all UDP).
    """

    capacity_packets = None

    def __init__(self, path: str | Path, *, rate: float = 1.0, loop: bool = False,
                 port: int | None = DEFAULT_PORT, max_batch: int = 512,
                 stats: InputStats | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate < 0:
            raise SourceError(f'replay rate must be >= 0 (0 = as fast as possible), got {rate}')
        self.stats = stats if stats is not None else InputStats()
        self.path = Path(path)
        self.description = f'pcap {self.path}'
        self._rate = rate
        self._loop = loop
        self._port = port
        self._max_batch = max_batch
        self._clock = clock
        self._wall = wall_clock
        self._sleep = sleep
        self._exhausted = False
        self._pass_count = 0
        self._pending: CapturedDatagram | None = None
        self._time_shift = 0.0
        self._last_capture_time: float | None = None
        self._last_interval = 0.0
        self._origin: tuple[float, float] | None = None  # (capture time, clock time)
        self._datagrams = self._open_pass()
        self._pending = self._next_datagram()

    @property
    def exhausted(self) -> bool:
        return self._exhausted

    @property
    def passes(self) -> int:
        """How many times the file has been started (1 + completed loops)."""
        return self._pass_count

    def _open_pass(self) -> Iterator[CapturedDatagram]:
        self._pass_count += 1
        self._pass_base: float | None = None
        return read_udp_payloads(self.path, stats=self.stats, port=self._port)

    def _next_datagram(self) -> CapturedDatagram | None:
        reopened = False
        while True:
            try:
                datagram = next(self._datagrams)
                break
            except StopIteration:
                if not self._loop or reopened:
                    # No loop, or a whole pass produced nothing: stop instead of spinning.
                    self._exhausted = True
                    return None
                if self._last_capture_time is not None:
                    self._time_shift = self._last_capture_time + self._last_interval
                self._datagrams = self._open_pass()
                reopened = True
        if self._pass_base is None:
            self._pass_base = datagram.timestamp
        capture_time = self._time_shift + (datagram.timestamp - self._pass_base)
        if self._last_capture_time is not None and capture_time > self._last_capture_time:
            self._last_interval = capture_time - self._last_capture_time
        self._last_capture_time = capture_time
        return CapturedDatagram(capture_time, datagram.source, datagram.dst_port,
                                datagram.payload)

    def receive(self, timeout_s: float, read_after_s: float | None = None) -> PacketBatch:
        # read_after_s does not apply: each packet is handed out when due, stamped then.
        batch = PacketBatch()
        if self._pending is None:
            self._sleep(max(timeout_s, 0.0))
            return batch
        if self._rate > 0:
            if self._origin is None:
                self._origin = (self._pending.timestamp, self._clock())
            wait = self._due(self._pending) - self._clock()
            if wait > timeout_s:
                self._sleep(max(timeout_s, 0.0))
                return batch
            if wait > 0:
                self._sleep(wait)
        now = self._clock()
        while self._pending is not None and len(batch) < self._max_batch:
            if self._rate > 0 and self._due(self._pending) > now:
                break
            batch.packets.append(self._pending.payload)
            batch.recv_times.append(self._wall())
            self._pending = self._next_datagram()
        return batch

    def _due(self, datagram: CapturedDatagram) -> float:
        capture_origin, clock_origin = self._origin
        return clock_origin + (datagram.timestamp - capture_origin) / self._rate

    def close(self) -> None:
        self._datagrams.close()
        self._pending = None
        self._exhausted = True

    def __enter__(self) -> PcapSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _arrival_time(ancillary: list[tuple[int, int, bytes]]) -> float:
    """The kernel's arrival stamp of a datagram (wall clock, like time.time())."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS:
            seconds, nanoseconds = _TIMESPEC.unpack(data)
            return seconds + nanoseconds * 1e-9
    # Only without SO_TIMESTAMPNS support (not on Linux): read the clock instead.
    return time.time()
