"""A pseudo-terminal pair for serial emulation: the emulator holds the master side, the driver
opens the slave (through an optional stable symlink, since the /dev/pts number changes on every
start) as it would open /dev/ttyUSB0. Baud rate settings are accepted but not enforced by a pty:
bytes move as fast as the two processes exchange them."""

from __future__ import annotations

import os
import tty
from pathlib import Path


class PtyLink:
    def __init__(self, *, link_path: str | os.PathLike | None = None) -> None:
        self.master_fd, self._slave_fd = os.openpty()
        # Raw from the start: no echo, no line buffering, no CR/NL translation of binary data.
        tty.setraw(self._slave_fd)
        self.slave_path = os.ttyname(self._slave_fd)
        self.link_path = Path(link_path) if link_path else None
        if self.link_path is not None:
            self.link_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.link_path.with_name(f'.{self.link_path.name}.{os.getpid()}')
            tmp.unlink(missing_ok=True)
            os.symlink(self.slave_path, tmp)
            os.replace(tmp, self.link_path)  # atomic: a driver never sees a half-made link

    @property
    def path(self) -> str:
        return str(self.link_path) if self.link_path is not None else self.slave_path

    def close(self) -> None:
        """Close both sides (a driver holding the slave then sees EIO: a disconnect)."""
        if self.link_path is not None:
            try:
                if os.readlink(self.link_path) == self.slave_path:
                    self.link_path.unlink()
            except OSError:
                pass
        for fd in (self.master_fd, self._slave_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.master_fd = self._slave_fd = -1

    def __enter__(self) -> 'PtyLink':
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
