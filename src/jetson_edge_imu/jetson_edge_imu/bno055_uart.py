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
        self._char_s = BITS_PER_CHAR / baud
        self._retries = retries
        self._on_error = on_error
        # After the payload, wait this long for a byte an insertion would have pushed out.
        self._trailing_guard_s = 1.5 * self._char_s if baud <= 1_000_000 else 0.0
        self.stats = FrameStats()

    # -- RegisterIO --------------------------------------------------------------------------
    def read(self, register: int, length: int) -> bytes:
        request = encode_read(register, length)
        last_problem = 'no attempt'
        for _ in range(self._retries + 1):
            self._drop_stale_input()
            self.stats.requests += 1
            self._write(request)
            header = self._read_exact(2)
            if len(header) < 2:
                last_problem = self._framing_error('partial', f'response header cut short '
                                                   f'({len(header)} of 2 bytes)')
                continue
            if header[0] == reg.UART_READ_OK:
                if header[1] != length:
                    last_problem = self._framing_error(
                        'bad_length', f'read of {length} bytes at 0x{register:02x} answered '
                        f'with length {header[1]}')
                    continue
                payload = self._read_exact(length)
                if len(payload) < length:
                    last_problem = self._framing_error(
                        'partial', f'payload cut short ({len(payload)} of {length} bytes)')
                    continue
                if self._has_trailing_bytes():
                    last_problem = self._framing_error(
                        'trailing_bytes', 'bytes after the end of a frame (inserted byte?)')
                    continue
                self.stats.good_frames += 1
                return payload
            if header[0] == reg.UART_STATUS:
                last_problem = self._status(header[1], f'read of 0x{register:02x}')
                continue
            last_problem = self._framing_error(
                'bad_header', f'response starts with 0x{header[0]:02x}, expected 0xBB or 0xEE')
        raise ProtocolError(f'BNO055 read of 0x{register:02x} failed after '
                            f'{self._retries + 1} attempts: {last_problem}')

    def write(self, register: int, data: bytes) -> None:
        request = encode_write(register, data)
        last_problem = 'no attempt'
        for _ in range(self._retries + 1):
            self._drop_stale_input()
            self.stats.requests += 1
            self._write(request)
            ack = self._read_exact(2)
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

    def wire_time_s(self, read_length: int) -> float:
        return (4 + 2 + read_length) * self._char_s

    def close(self) -> None:
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

    def _write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except Exception as exc:  # pyserial raises SerialException/OSError/portNotOpen
            raise TransportError(f'serial write failed: {exc}') from exc

    def _read_exact(self, n: int) -> bytes:
        try:
            return self._port.read(n)
        except Exception as exc:
            raise TransportError(f'serial read failed (port disconnected?): {exc}') from exc

    def _pending(self) -> int:
        try:
            return self._port.in_waiting
        except Exception as exc:
            raise TransportError(f'serial port unusable: {exc}') from exc

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
        self.stats.discarded_bytes += len(self._read_exact(n))

    def _resync(self) -> None:
        """Drain until the line has been quiet for a few character times (a late or cut-off
        response must not be taken as the answer to the next request)."""
        quiet_s = max(0.002, 20 * self._char_s)
        saved = self._port.timeout
        try:
            self._port.timeout = quiet_s
            while True:
                chunk = self._read_exact(256)
                if not chunk:
                    break
                self.stats.discarded_bytes += len(chunk)
        finally:
            self._port.timeout = saved
