"""The IMU driver against its environment, as processes over real DDS: a calibration directory
it cannot write (a read-only container with no volume there) and a device that stops answering
(the emulator frozen with SIGSTOP): the readings go on and the fault shows on /diagnostics. And
a fault nobody foresaw, injected into the reader thread: ERROR, then the process ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from jetson_edge_common.thread_guard import EXIT_THREAD_DIED
from suite_helpers import ERROR, OK, WARN, current_pids, node_exits, node_statuses, wait_for, \
    write_profile
from system_helpers import HERE

STARTUP_S = 120.0
REPORT_S = 60.0      # generous: the machine is a shared VM; the times are printed, not asserted
IMU = {'imu/data': ('sensor_msgs/msg/Imu', 'sensor')}


def _imu_status(monitor):
    return node_statuses(monitor.latest_diagnostics(), 'imu').get('imu: imu')


def _arrived_since(monitor, since: float) -> int:
    return sum(t > since for t in monitor.snapshot()['imu/data'])


@pytest.mark.long  # a fault test (the attack test repeats it in the whole sim)
def test_unwritable_calibration_path_is_a_warning_and_the_readings_go_on(
        start_suite, topic_monitor, tmp_path):
    blocker = tmp_path / 'var_lib_jetson_edge'
    blocker.write_text('a file where the calibration directory should be\n')
    path = blocker / 'bno055_calibration.json'
    profile = write_profile(tmp_path, {'imu': {'parameters': {
        'calibration_file': str(path), 'diagnostics_period_s': 0.5}}})
    monitor = topic_monitor(IMU)
    suite = start_suite(str(profile), only=['imu'])
    started = time.monotonic()

    def save_warning():
        assert suite.alive(), suite.output()[-3000:]
        status = _imu_status(monitor)
        # (before the device is fully calibrated, the WARN says the file could not be read)
        return (status if status and status[0] == WARN
                and status[1].startswith(f'cannot save calibration to {path}: ') else None)

    level, message, when, values = wait_for(
        save_warning, STARTUP_S,
        lambda: f'a WARN that saving to {path} failed (latest: {_imu_status(monitor)})')
    print(f'calibration save WARN {when - started:.1f} s after start: {message}')
    assert message.startswith(f'cannot save calibration to {path}: [Errno 17] File exists')
    assert 'retrying in' in message and int(values['calibration_save_failures']) >= 1

    warned_at = time.monotonic()
    wait_for(lambda: _arrived_since(monitor, warned_at) >= 300, REPORT_S,
             lambda: f'imu/data to keep flowing ({_arrived_since(monitor, warned_at)} since)')
    assert suite.alive() and not node_exits(suite.output()), suite.output()[-3000:]
    assert not path.exists()


@pytest.mark.long  # a fault test
def test_a_frozen_device_is_an_error_and_the_readings_resume(start_suite, topic_monitor,
                                                             tmp_path):
    profile = write_profile(tmp_path, {'imu': {'parameters': {'diagnostics_period_s': 0.5}}})
    monitor = topic_monitor(IMU)
    suite = start_suite(str(profile), only=['imu'])

    def flowing_and_ok():
        assert suite.alive(), suite.output()[-3000:]
        status = _imu_status(monitor)
        return (_arrived_since(monitor, time.monotonic() - 1.0) > 50 and status
                and status[0] == OK)
    wait_for(flowing_and_ok, STARTUP_S, lambda: f'imu/data and an OK status '
                                                f'(latest: {_imu_status(monitor)})')

    emulator = current_pids(suite.output())['imu_emulator']
    os.kill(emulator, signal.SIGSTOP)
    stopped_at = time.monotonic()
    try:
        def error_since_stop():
            status = _imu_status(monitor)
            return status if status and status[0] == ERROR and status[2] > stopped_at else None
        level, message, when, _ = wait_for(
            error_since_stop, REPORT_S,
            lambda: f'an ERROR after SIGSTOP (latest: {_imu_status(monitor)})')
        print(f'device frozen -> ERROR on /diagnostics in {when - stopped_at:.2f} s: {message}')
    finally:
        os.kill(emulator, signal.SIGCONT)
    resumed_at = time.monotonic()
    wait_for(lambda: _arrived_since(monitor, resumed_at) >= 100, REPORT_S,
             'imu/data to resume after SIGCONT')
    print(f'readings resumed {time.monotonic() - resumed_at:.2f} s after SIGCONT')
    assert suite.alive(), suite.output()[-3000:]


@pytest.mark.long  # a fault test
def test_a_dead_reader_thread_reports_error_and_ends_the_node(start_suite, topic_monitor,
                                                              tmp_path):
    """No dead thread in a live process: the reader thread's unforeseen exception is an ERROR
    on /diagnostics naming it, and the process exits non-zero so that respawn restarts it."""
    profile = write_profile(tmp_path)
    pty = str(tmp_path / 'imu.pty')
    monitor = topic_monitor(IMU)
    suite = start_suite(str(profile), only=['imu_emulator'])
    log = open(tmp_path / 'imu_node.log', 'wb')
    node = subprocess.Popen(
        [sys.executable, str(HERE / 'imu_reader_fault.py'), '--after', '300', '--ros-args',
         '-p', f'port:={pty}', '-p', 'diagnostics_period_s:=0.5'],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: len(monitor.snapshot()['imu/data']) > 50 or node.poll() is not None,
                 STARTUP_S, 'imu/data from the node before its fault')
        assert suite.alive(), suite.output()[-3000:]
        code = node.wait(timeout=REPORT_S)
    finally:
        if node.poll() is None:
            node.kill()
        log.close()
    output = (tmp_path / 'imu_node.log').read_text(errors='replace')
    assert code == EXIT_THREAD_DIED, output[-3000:]
    assert "thread 'imu-reader' died: RuntimeError: injected fault after 300" in output
    status = wait_for(lambda: node_statuses(monitor.latest_diagnostics(), 'imu_node')
                      .get('imu_node: imu'), REPORT_S, 'the node\'s last diagnostics')
    assert status[0] == ERROR, status
    assert status[1].startswith("thread 'imu-reader' died: RuntimeError: injected fault"), status
