"""No dead thread in a live process: an exception that escapes any thread ends the process.

Python ends a thread whose target raises and leaves the process running, so a node whose reader
thread died keeps answering on ROS (its diagnostics timer still says "ok") while its data has
stopped for good, and respawn never sees an exit. :func:`install_fatal_thread_hook` replaces
``threading.excepthook`` for the whole process: the exception is written to stderr with its
traceback, the node's ``report`` is called (to publish ERROR naming the thread and the
exception), and the process ends with :data:`EXIT_THREAD_DIED` so that the supervisor or
``ros2 launch`` respawn restarts it.

A thread that can go on in a degraded mode handles its exceptions itself and reports that
status; only what it did not foresee reaches this hook.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from dataclasses import dataclass
from typing import Callable

EXIT_THREAD_DIED = 70  # EX_SOFTWARE (sysexits.h): an internal error


@dataclass(frozen=True)
class ThreadDeath:
    """What ended a thread: its name, the exception and the formatted traceback."""

    thread: str
    exception: BaseException | None
    traceback: str

    @property
    def message(self) -> str:
        exc = self.exception
        what = f'{type(exc).__name__}: {exc}' if exc is not None else 'unknown exception'
        return f'thread {self.thread!r} died: {what}'


def fatal_thread_hook(report: Callable[[ThreadDeath], None], *,
                      exit_process: Callable[[int], None] = os._exit,
                      exit_code: int = EXIT_THREAD_DIED,
                      stream=None) -> Callable[[threading.ExceptHookArgs], None]:
    """A ``threading.excepthook``: write the traceback, ``report`` the death, end the process.

    ``os._exit`` is the default because ``sys.exit`` in a thread only ends that thread; the
    thread's own ``finally`` blocks have run by then (the exception unwound through them).
    A ``report`` that raises is written out too, and the process still ends.
    """

    def hook(args: threading.ExceptHookArgs) -> None:
        out = stream or sys.stderr
        name = args.thread.name if args.thread is not None else '<unknown>'
        text = ''.join(traceback.format_exception(args.exc_type, args.exc_value,
                                                  args.exc_traceback))
        death = ThreadDeath(name, args.exc_value, text)
        try:
            out.write(f'[FATAL] {death.message}; ending the process (exit {exit_code}) so that '
                      f'it is restarted\n{text}')
            out.flush()
            report(death)
        except BaseException:  # the report failed too: say so, and still end the process
            try:
                out.write(f'[FATAL] reporting the dead thread failed:\n{traceback.format_exc()}')
                out.flush()
            except BaseException:
                pass
        finally:
            try:
                sys.stdout.flush()
            except BaseException:
                pass
            exit_process(exit_code)

    return hook


def install_fatal_thread_hook(report: Callable[[ThreadDeath], None], *,
                              exit_process: Callable[[int], None] = os._exit,
                              exit_code: int = EXIT_THREAD_DIED
                              ) -> Callable[[threading.ExceptHookArgs], None]:
    """Make every thread of this process fatal on an escaping exception; returns the hook that
    was installed before (to restore it in tests)."""
    previous = threading.excepthook
    threading.excepthook = fatal_thread_hook(report, exit_process=exit_process,
                                             exit_code=exit_code)
    return previous



class ThreadGuard:
    """A node's side of the contract: installs the fatal hook, remembers the death (for the
    node's status) and calls ``on_death`` (log it, publish ERROR) before the process ends.

    The class attribute ``exit_process`` (``os._exit`` when None) is looked up when a thread
    dies, so a test can set it to record the exit instead.
    """

    exit_process: Callable[[int], None] | None = None

    def __init__(self, on_death: Callable[[ThreadDeath], None]) -> None:
        self.death: ThreadDeath | None = None
        self._on_death = on_death
        install_fatal_thread_hook(self._report, exit_process=self._exit)

    def _exit(self, code: int) -> None:
        (type(self).exit_process or os._exit)(code)

    def _report(self, death: ThreadDeath) -> None:
        self.death = death
        self._on_death(death)
