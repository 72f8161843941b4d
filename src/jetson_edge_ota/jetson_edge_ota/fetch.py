"""Network IO: an ngclient fetcher that retries and resumes, and a resumable file download.

``RetryingFetcher`` plugs into python-tuf's one IO seam (``FetcherInterface._fetch``): when
a connection drops mid-body it reconnects with an HTTP ``Range`` request from the byte it
had reached, so ngclient sees one uninterrupted stream and still enforces its own length
limits (an endless response is cut there).

``download_resumable`` fetches a target into a ``.part`` file that survives the process:
the next attempt, even after a reboot, asks only for the missing bytes. It never accepts
more bytes than the signed length; hashes are checked by the caller with the signed
``TargetFile`` once the file is complete.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import urllib3
from tuf.api import exceptions as tuf_exceptions
from tuf.ngclient import FetcherInterface

from .errors import DownloadError

LOG = logging.getLogger(__name__)
_CONTENT_RANGE_RE = re.compile(r'^bytes (\d+)-(\d+)/(\d+|\*)$')
# Connection-level failures worth a retry (the server may come back, the link may recover).
_TRANSIENT = (urllib3.exceptions.ProtocolError, urllib3.exceptions.TimeoutError,
              urllib3.exceptions.NewConnectionError, urllib3.exceptions.MaxRetryError,
              ConnectionError, TimeoutError)


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per download, back-off between them, and socket timeouts."""

    attempts: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.backoff_s * (2 ** (attempt - 1)), self.max_backoff_s)


class _Http:
    """A small urllib3 wrapper shared by the fetcher and the file download."""

    def __init__(self, policy: RetryPolicy, user_agent: str):
        self.policy = policy
        self._pool = urllib3.PoolManager(headers={'User-Agent': user_agent})

    def open(self, url: str, offset: int) -> urllib3.response.BaseHTTPResponse:
        headers = {'Range': f'bytes={offset}-'} if offset else {}
        return self._pool.request(
            'GET', url, headers=headers, preload_content=False, retries=False,
            redirect=False, timeout=urllib3.Timeout(connect=self.policy.connect_timeout_s,
                                                    read=self.policy.read_timeout_s))


def _resumed_offset(response: urllib3.response.BaseHTTPResponse, offset: int) -> int:
    """Offset the body starts at: ``offset`` for a matching 206, 0 for a full 200."""
    if response.status == 200:
        return 0
    if response.status == 206:
        match = _CONTENT_RANGE_RE.match(response.headers.get('Content-Range', ''))
        if match and int(match.group(1)) == offset:
            return offset
        raise DownloadError(f'server answered a range request from byte {offset} with '
                            f'Content-Range {response.headers.get("Content-Range")!r}')
    raise DownloadError(f'unexpected HTTP status {response.status}')


def _chunks(response: urllib3.response.BaseHTTPResponse, size: int) -> Iterator[bytes]:
    """Body chunks as they arrive (``read1``), so a dropped connection loses no received byte.

    ``stream()`` would buffer up to ``size`` bytes and discard them with the error.
    """
    while True:
        chunk = response.read1(size)
        if not chunk:
            return
        yield chunk


def _discard(response: urllib3.response.BaseHTTPResponse) -> None:
    """Return the connection to the pool only if its body was read to the end.

    A half-read (or endless) body must close the socket: draining it could take forever
    and reusing it would read leftover bytes as the next response.
    """
    if not response.isclosed():
        response.close()
    response.release_conn()


def _http_error(url: str, response: urllib3.response.BaseHTTPResponse) -> Exception | None:
    if response.status >= 400:
        return tuf_exceptions.DownloadHTTPError(
            f'HTTP {response.status} for {url}', response.status)
    return None


class RetryingFetcher(FetcherInterface):
    """ngclient fetcher with reconnect-and-resume on dropped connections."""

    def __init__(self, *, policy: RetryPolicy = RetryPolicy(), chunk_size: int = 1 << 18,
                 user_agent: str = 'jetson-edge-ota'):
        self._http = _Http(policy, user_agent)
        self._policy = policy
        self._chunk_size = chunk_size

    def _fetch(self, url: str) -> Iterator[bytes]:
        # The first connection happens eagerly so HTTP errors surface from fetch() itself.
        response = self._connect(url, 0)
        return self._stream(url, response)

    def _connect(self, url: str, offset: int) -> urllib3.response.BaseHTTPResponse:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.open(url, offset)
            except _TRANSIENT as exc:
                if attempt >= self._policy.attempts:
                    raise tuf_exceptions.SlowRetrievalError(
                        f'{url}: no connection after {attempt} attempts: {exc}') from exc
                time.sleep(self._policy.delay(attempt))
                continue
            error = _http_error(url, response)
            if error is not None:
                _discard(response)
                if 500 <= response.status < 600 and attempt < self._policy.attempts:
                    time.sleep(self._policy.delay(attempt))
                    continue
                raise error
            return response

    def _stream(self, url: str, response: urllib3.response.BaseHTTPResponse) -> Iterator[bytes]:
        received = 0
        skip = 0          # bytes to drop when a server restarts the body from byte 0
        attempt = 1
        try:
            while True:
                try:
                    for chunk in _chunks(response, self._chunk_size):
                        if skip:
                            dropped = min(skip, len(chunk))
                            chunk, skip = chunk[dropped:], skip - dropped
                            if not chunk:
                                continue
                        received += len(chunk)
                        yield chunk
                    return
                except _TRANSIENT as exc:
                    _discard(response)
                    attempt += 1
                    if attempt > self._policy.attempts:
                        raise tuf_exceptions.SlowRetrievalError(
                            f'{url}: connection kept dropping ({exc})') from exc
                    LOG.warning('%s: connection dropped after %d bytes (%s); resuming',
                                url, received, exc)
                    time.sleep(self._policy.delay(attempt - 1))
                    response = self._connect(url, received)
                    skip = received - _resumed_offset(response, received)
        finally:
            _discard(response)


def download_resumable(url: str, part_path: Path, *, length: int,
                       policy: RetryPolicy = RetryPolicy(),
                       progress: Callable[[int, int], None] | None = None,
                       chunk_size: int = 1 << 20,
                       user_agent: str = 'jetson-edge-ota') -> int:
    """Fill ``part_path`` up to exactly ``length`` bytes from ``url``; returns the resume offset.

    Bytes already in ``part_path`` are kept and only the rest is requested. Raises
    ``DownloadError`` when the server sends more than ``length`` bytes (never retried)
    or when the file is still incomplete after the policy's attempts (rerun to resume).
    """
    part_path = Path(part_path)
    http = _Http(policy, user_agent)
    offset = part_path.stat().st_size if part_path.exists() else 0
    if offset > length:
        part_path.unlink()
        offset = 0
    resumed_from = offset
    attempt = 0
    last_error: Exception | None = None
    while offset < length and attempt < policy.attempts:
        attempt += 1
        if attempt > 1:
            time.sleep(policy.delay(attempt - 1))
        try:
            response = http.open(url, offset)
        except _TRANSIENT as exc:
            last_error = exc
            LOG.warning('%s: connect failed (attempt %d/%d): %s', url, attempt,
                        policy.attempts, exc)
            continue
        try:
            if response.status == 416:
                # Our partial file is not a prefix the server recognizes: start over.
                part_path.unlink(missing_ok=True)
                offset = resumed_from = 0
                continue
            if response.status >= 400:
                last_error = DownloadError(f'HTTP {response.status} for {url}')
                if response.status < 500:
                    raise last_error
                continue
            start = _resumed_offset(response, offset)
            if start != offset:
                LOG.info('%s: server ignored the range request; downloading from the start',
                         url)
                offset = resumed_from = 0
            with open(part_path, 'r+b' if start else 'wb') as out:
                out.seek(start)
                out.truncate()
                try:
                    for chunk in _chunks(response, chunk_size):
                        if offset + len(chunk) > length:
                            part_path.unlink(missing_ok=True)
                            raise DownloadError(
                                f'{url}: server sent more than the {length} bytes the signed '
                                'metadata allows; download discarded')
                        out.write(chunk)
                        offset += len(chunk)
                        if progress is not None:
                            progress(offset, length)
                except _TRANSIENT as exc:
                    last_error = exc
                    LOG.warning('%s: connection dropped at byte %d of %d (attempt %d/%d): %s',
                                url, offset, length, attempt, policy.attempts, exc)
        finally:
            _discard(response)
    if offset < length:
        # No error at all: the server ended a complete-looking response early.
        why = last_error or 'the server ended its response before the signed length'
        raise DownloadError(
            f'{url}: downloaded {offset} of {length} bytes after {attempt} attempts '
            f'({why}); run the command again to resume from byte {offset}')
    return resumed_from


def part_size(part_path: Path) -> int:
    """Bytes already downloaded into ``part_path`` (0 if none)."""
    try:
        return os.stat(part_path).st_size
    except FileNotFoundError:
        return 0
