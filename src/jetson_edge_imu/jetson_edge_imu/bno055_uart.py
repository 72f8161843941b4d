"""BNO055 UART register protocol (data sheet section 4.7) as a ``RegisterIO``.

Request/response, 8N1: ``AA 01 reg len`` reads, ``AA 00 reg len data...`` writes. A read
answers ``BB len data...``; anything else answers ``EE status``. The protocol has no checksum,
so corruption is caught by framing alone: a wrong header byte, a length that is not the one
asked for, a frame cut short (read timeout), and bytes left over after a frame (an inserted
byte shifts the frame). Each of these drops the sample, is counted, and resynchronizes by
draining the line until it is quiet before the next request. A bit flip inside a payload that
keeps the length intact is invisible to any BNO055 host; the plausibility checks in ``health``
are the only defence against those.
"""

from __future__ import annotations

import fcntl
import os
import select
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, fields

from jetson_edge_imu import bno055_registers as reg
from jetson_edge_imu.errors import DeviceStatusError, ProtocolError, TransportError
from jetson_edge_imu.transport import SerialLike

BITS_PER_CHAR = 10  # start + 8 data + stop


@dataclass(slots=True)
class FrameStats:
    """Counters of the UART link, for diagnostics."""

    requests: int = 0
    good_frames: int = 0
    bad_header: int = 0
    bad_length: int = 0
    partial: int = 0
    trailing_bytes: int = 0
    stale_bytes: int = 0
    device_busy: int = 0
    status_errors: int = 0
    discarded_bytes: int = 0

    @property
    def corrupt_frames(self) -> int:
        return self.bad_header + self.bad_length + self.partial + self.trailing_bytes

    def as_dict(self) -> dict[str, int]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out['corrupt_frames'] = self.corrupt_frames
        return out


def is_pseudo_terminal(fd: int) -> bool:
    """True for a Unix98 pty slave (/dev/pts/N: character majors 136..143 on Linux)."""
    try:
        return 136 <= os.major(os.fstat(fd).st_rdev) <= 143
    except OSError:
        return False


def encode_read(register: int, length: int) -> bytes:
    if not 1 <= length <= reg.UART_MAX_LENGTH:
        raise ValueError(f'BNO055 UART reads 1..{reg.UART_MAX_LENGTH} bytes, not {length}')
    return bytes((reg.UART_START, reg.UART_CMD_READ, register & 0xFF, length))


def encode_write(register: int, data: bytes) -> bytes:
    if not 1 <= len(data) <= reg.UART_MAX_LENGTH:
        raise ValueError(f'BNO055 UART writes 1..{reg.UART_MAX_LENGTH} bytes, not {len(data)}')
    return bytes((reg.UART_START, reg.UART_CMD_WRITE, register & 0xFF, len(data))) + bytes(data)


class Bno055UartIO:
    """``RegisterIO`` over a serial port speaking the BNO055 UART protocol."""

    def __init__(
        self,
        port: SerialLike,
        *,
        baud: int = reg.UART_DEFAULT_BAUD,
        retries: int = 3,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self._port = port
        self._fd = port.fileno()
        self._timeout_s = port.timeout if port.timeout is not None else 0.1
        self._char_s = BITS_PER_CHAR / baud
        self._retries = retries
        self._on_error = on_error
        # On a real UART the bytes of a frame trickle in: after the payload, wait 1.5
        # character times for a byte that an insertion would have pushed out. A pty delivers
        # each write at once and has no character time, so there is nothing to wait for.
        self._trailing_guard_s = 0.0 if is_pseudo_terminal(self._fd) else 1.5 * self._char_s
        self._inq = bytearray(4)
        # True after a response that was checked to its end with nothing following it: the
        # line is known to be empty, and the next request can skip the stale-input check.
        self._line_clean = False
        self.stats = FrameStats()

    # -- RegisterIO --------------------------------------------------------------------------
    def read(self, register: int, length: int) -> bytes:
        request = encode_read(register, length)
        last_problem = 'no attempt'
        for _ in range(self._retries + 1):
            if not self._line_clean:
                self._drop_stale_input()
            self._line_clean = False
            self.stats.requests += 1
            self._write(request)
            frame = self._read_response(2 + length)
            if len(frame) < 2:
                last_problem = self._framing_error('partial', f'response header cut short '
                                                   f'({len(frame)} of 2 bytes)')
                continue
            if frame[0] == reg.UART_READ_OK:
                if frame[1] != length:
                    last_problem = self._framing_error(
                        'bad_length', f'read of {length} bytes at 0x{register:02x} answered '
                        f'with length {frame[1]}')
                    continue
                if len(frame) < 2 + length:
                    last_problem = self._framing_error(
                        'partial', f'payload cut short ({len(frame) - 2} of {length} bytes)')
                    continue
                if self._has_trailing_bytes():
                    last_problem = self._framing_error(
                        'trailing_bytes', 'bytes after the end of a frame (inserted byte?)')
                    continue
                self.stats.good_frames += 1
                self._line_clean = True
                return frame[2:]
            if frame[0] == reg.UART_STATUS:
                last_problem = self._status(frame[1], f'read of 0x{register:02x}')
                continue
            last_problem = self._framing_error(
                'bad_header', f'response starts with 0x{frame[0]:02x}, expected 0xBB or 0xEE')
        raise ProtocolError(f'BNO055 read of 0x{register:02x} failed after '
                            f'{self._retries + 1} attempts: {last_problem}')

    def write(self, register: int, data: bytes) -> None:
        request = encode_write(register, data)
        last_problem = 'no attempt'
        self._line_clean = False
        for _ in range(self._retries + 1):
            self._drop_stale_input()
            self.stats.requests += 1
            self._write(request)
            ack = self._read_response(2)
            if len(ack) < 2:
                last_problem = self._framing_error('partial', 'write acknowledge cut short')
                continue
            if ack[0] != reg.UART_STATUS:
                last_problem = self._framing_error(
                    'bad_header', f'write acknowledge starts with 0x{ack[0]:02x}, expected 0xEE')
                continue
            if ack[1] == reg.UartStatus.WRITE_SUCCESS:
                self.stats.good_frames += 1
                return
            last_problem = self._status(ack[1], f'write of 0x{register:02x}')
        raise ProtocolError(f'BNO055 write of 0x{register:02x} failed after '
                            f'{self._retries + 1} attempts: {last_problem}')

    def request_time_s(self) -> float:
        # the 4-byte read request (0xAA, 0x01, register, length) must arrive before the answer
        return 4 * self._char_s

    def close(self) -> None:
        self._line_clean = False
        self._port.close()

    # -- internals ---------------------------------------------------------------------------
    def _status(self, status: int, what: str) -> str:
        try:
            name = reg.UartStatus(status).name
        except ValueError:
            self._framing_error('bad_header', f'unknown status byte 0x{status:02x}')
            return f'unknown status 0x{status:02x}'
        if status in reg.UART_RETRYABLE:
            self.stats.device_busy += 1
            return f'{what}: device reported {name}'
        self.stats.status_errors += 1
        raise DeviceStatusError(f'BNO055 {what} rejected: {name}', status=status)

    def _framing_error(self, counter: str, message: str) -> str:
        setattr(self.stats, counter, getattr(self.stats, counter) + 1)
        if self._on_error is not None:
            self._on_error(f'BNO055 UART: {message}; resynchronizing')
        self._resync()
        return message

    # The port is configured (baud, 8N1, raw, exclusive) and owned by pyserial; frames move
    # through its file descriptor directly: one select and one read per response instead of
    # pyserial's per-call bookkeeping, which matters at 1 kHz.
    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                try:
                    n = os.write(self._fd, view)
                except BlockingIOError:
                    select.select([], [self._fd], [], self._timeout_s)
                    continue
                view = view[n:]
        except OSError as exc:
            raise TransportError(f'serial write failed (port disconnected?): {exc}') from exc

    def _read_response(self, n: int, *, timeout_s: float | None = None) -> bytes:
        """Up to ``n`` bytes: stops early once the first two bytes show a status or garbage
        header (those responses are 2 bytes), or when nothing more arrives within the timeout."""
        buf = b''
        deadline = time.monotonic() + (self._timeout_s if timeout_s is None else timeout_s)
        try:
            while len(buf) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([self._fd], [], [], remaining)[0]:
                    break
                try:
                    chunk = os.read(self._fd, n - len(buf))
                except BlockingIOError:
                    continue
                if not chunk:
                    raise TransportError('serial port closed (end of file)')
                buf += chunk
                if len(buf) >= 2 and buf[0] != reg.UART_READ_OK:
                    break
        except OSError as exc:
            raise TransportError(f'serial read failed (port disconnected?): {exc}') from exc
        return buf

    def _pending(self) -> int:
        """Bytes waiting in the input queue (what pyserial's ``in_waiting`` asks, without its
        per-call wrapping)."""
        try:
            fcntl.ioctl(self._fd, termios.FIONREAD, self._inq, True)
        except OSError as exc:
            raise TransportError(f'serial port unusable: {exc}') from exc
        return int.from_bytes(self._inq, sys.byteorder)

    def _has_trailing_bytes(self) -> bool:
        if self._pending():
            return True
        if self._trailing_guard_s:
            time.sleep(self._trailing_guard_s)
            return self._pending() > 0
        return False

    def _drop_stale_input(self) -> None:
        pending = self._pending()
        if pending:
            self.stats.stale_bytes += pending
            self._discard(pending)

    def _discard(self, n: int) -> None:
        self.stats.discarded_bytes += len(self._read_response(n, timeout_s=0.0))

    def _resync(self) -> None:
        """Drain until the line has been quiet for a few character times (a late or cut-off
        response must not be taken as the answer to the next request)."""
        quiet_s = max(0.002, 20 * self._char_s)
        try:
            while select.select([self._fd], [], [], quiet_s)[0]:
                chunk = os.read(self._fd, 256)
                if not chunk:
                    return
                self.stats.discarded_bytes += len(chunk)
        except BlockingIOError:
            return
        except OSError as exc:
            raise TransportError(f'serial read failed (port disconnected?): {exc}') from exc
