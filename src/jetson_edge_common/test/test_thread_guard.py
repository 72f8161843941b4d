"""A thread that dies takes its process down, after reporting why: in-process with a recorded
exit, and end to end in a child process with the real ``os._exit``."""

import io
import subprocess
import sys
import textwrap
import threading

import pytest

from jetson_edge_common.thread_guard import (EXIT_THREAD_DIED, ThreadDeath,
                                             install_fatal_thread_hook)


@pytest.fixture
def restore_hook():
    previous = threading.excepthook
    yield
    threading.excepthook = previous


def _die(message: str) -> None:
    raise OSError(30, 'Read-only file system', message)


def test_an_escaping_exception_is_reported_and_ends_the_process(restore_hook):
    reports: list[ThreadDeath] = []
    exits: list[int] = []
    install_fatal_thread_hook(reports.append, exit_process=exits.append)
    thread = threading.Thread(target=_die, args=('/var/lib/x.json',), name='imu-reader')
    thread.start()
    thread.join(30)
    assert exits == [EXIT_THREAD_DIED]
    (death,) = reports
    assert death.thread == 'imu-reader' and isinstance(death.exception, OSError)
    assert death.message == ("thread 'imu-reader' died: OSError: [Errno 30] Read-only file "
                             "system: '/var/lib/x.json'")
    assert 'in _die' in death.traceback


def test_a_failing_report_still_ends_the_process(restore_hook):
    exits: list[int] = []

    def broken_report(death: ThreadDeath) -> None:
        raise RuntimeError('publisher already destroyed')

    previous = install_fatal_thread_hook(broken_report, exit_process=exits.append, exit_code=3)
    assert previous is not threading.excepthook
    thread = threading.Thread(target=_die, args=('x',), name='worker')
    thread.start()
    thread.join(30)
    assert exits == [3]


def test_the_hook_writes_the_traceback_before_reporting():
    from jetson_edge_common.thread_guard import fatal_thread_hook

    stream = io.StringIO()
    seen_before_report: list[str] = []
    hook = fatal_thread_hook(lambda death: seen_before_report.append(stream.getvalue()),
                             exit_process=lambda code: None, stream=stream)
    try:
        _die('p')
    except OSError:
        args = threading.ExceptHookArgs((*sys.exc_info(), threading.current_thread()))
    hook(args)
    assert "[FATAL] thread 'MainThread' died: OSError" in seen_before_report[0]
    assert 'Traceback (most recent call last)' in seen_before_report[0]


def test_a_real_process_with_a_dead_thread_exits_non_zero():
    script = textwrap.dedent("""
        import threading, time
        from jetson_edge_common.thread_guard import install_fatal_thread_hook
        install_fatal_thread_hook(lambda death: print('REPORTED', death.message, flush=True))
        def reader():
            raise ValueError('bad frame')
        threading.Thread(target=reader, name='reader').start()
        time.sleep(120)   # the main thread lives on: only the hook can end the process
        print('STILL ALIVE', flush=True)
    """)
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=100)
    assert done.returncode == EXIT_THREAD_DIED, done
    assert "REPORTED thread 'reader' died: ValueError: bad frame" in done.stdout
    assert 'STILL ALIVE' not in done.stdout
    assert 'line 6, in reader' in done.stderr  # the traceback reaches the log
