"""The restart decisions of node_runner, on an injected run time."""

import signal

import pytest

from jetson_edge_bringup.respawn import (MAX_BACKOFF_S, STABLE_AFTER_S, RespawnPolicy,
                                         RestartCounter, exit_status)


def test_backoff_doubles_with_each_quick_death_and_is_capped():
    counter = RestartCounter('n', RespawnPolicy(delay_s=1.0, max_restarts=100))
    delays = [counter.exited(1, ran_s=0.5).delay_s for _ in range(8)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, MAX_BACKOFF_S, MAX_BACKOFF_S, MAX_BACKOFF_S]


def test_node_is_given_up_after_max_restarts_quick_deaths():
    counter = RestartCounter('lidar', RespawnPolicy(delay_s=0.1, max_restarts=2))
    assert counter.exited(3, ran_s=0.1).restart
    assert counter.exited(3, ran_s=0.1).restart
    verdict = counter.exited(3, ran_s=0.1)
    assert not verdict.restart and verdict.failed
    assert verdict.message == 'lidar keeps dying: 2 restarts in a row failed (last exit with code 3)'


def test_a_node_that_ran_long_starts_its_backoff_afresh():
    counter = RestartCounter('n', RespawnPolicy(delay_s=1.0, max_restarts=2))
    counter.exited(1, ran_s=0.1)
    counter.exited(1, ran_s=0.1)
    verdict = counter.exited(1, ran_s=STABLE_AFTER_S)
    assert verdict.restart and verdict.delay_s == 1.0 and verdict.attempt == 1


def test_restarts_count_starts_after_the_first():
    counter = RestartCounter('n', RespawnPolicy())
    assert counter.restarts == 0
    for _ in range(3):
        counter.started()
    assert counter.restarts == 2


@pytest.mark.parametrize('code, failed', [(0, False), (2, True), (-signal.SIGKILL, True)])
def test_without_respawn_the_node_runs_once(code, failed):
    verdict = RestartCounter('once', RespawnPolicy(respawn=False)).exited(code, ran_s=1.0)
    assert not verdict.restart and verdict.failed is failed
    assert 'respawn off' in verdict.message


def test_exit_status_names_the_signal():
    assert exit_status(-signal.SIGKILL) == 'signal 9 (SIGKILL)'
    assert exit_status(3) == 'code 3'
    counter = RestartCounter('cam', RespawnPolicy(delay_s=0.5, max_restarts=5))
    assert counter.exited(-9, ran_s=1).message == (
        'cam exited with signal 9 (SIGKILL); restarting in 0.5 s (attempt 1 of 5)')
