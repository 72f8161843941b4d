"""Downloads cut midway resume (in one run and across runs) and never accept bad bytes."""

from __future__ import annotations

import pytest
from conftest import FAST_RETRY, healthy
from ota_testing import Fault, assert_on_complete_release, load_top, publish_release

from jetson_edge_ota.errors import DownloadError
from jetson_edge_ota.fetch import RetryPolicy


def _bundle(writer, version: str):
    tgt, _, _ = load_top(writer.repo_dir)
    info = tgt.signed.targets[f'jetson-edge/{version}/generic.tar.gz']
    return f'{info.hashes["sha256"]}.generic.tar.gz', info


def test_download_cut_midway_resumes_with_range_request(tmp_path, writer, server, make_robot):
    publish_release(writer, tmp_path, '1.0.0', payload_bytes=256 * 1024)
    suffix, info = _bundle(writer, '1.0.0')
    cut = info.length // 3
    server.faults[suffix] = Fault(cut_after=cut, times=1)
    robot = make_robot()
    assert robot.install(health_check=healthy).outcome == 'committed'
    ranges = [r for _, r in server.bundle_requests()]
    assert ranges == [None, f'bytes={cut}-']
    assert_on_complete_release(robot.layout.root, '1.0.0')


def test_download_cut_in_one_run_resumes_from_part_file_in_the_next(tmp_path, writer, server,
                                                                      make_robot):
    publish_release(writer, tmp_path, '1.0.0', payload_bytes=256 * 1024)
    suffix, info = _bundle(writer, '1.0.0')
    cut = info.length // 2
    server.faults[suffix] = Fault(cut_after=cut)            # every attempt is cut
    robot = make_robot(retry=RetryPolicy(attempts=1, backoff_s=0.01))
    with pytest.raises(DownloadError, match=f'run the command again to resume from byte {cut}'):
        robot.install(health_check=healthy)
    assert_on_complete_release(robot.layout.root, None)
    parts = list(robot.layout.downloads.glob('*.part'))
    assert len(parts) == 1 and parts[0].stat().st_size == cut
    del server.faults[suffix]                                # the link is back
    resumed = make_robot('robot', retry=FAST_RETRY)          # a new process, same state dir
    assert resumed.install(health_check=healthy).outcome == 'committed'
    assert server.bundle_requests()[-1][1] == f'bytes={cut}-'
    assert_on_complete_release(robot.layout.root, '1.0.0')


def test_download_ended_short_without_an_error_says_so(tmp_path, writer, server, make_robot):
    publish_release(writer, tmp_path, '1.0.0', payload_bytes=64 * 1024)
    suffix, info = _bundle(writer, '1.0.0')
    short = info.length // 4
    server.faults[suffix] = Fault(body=b'\0' * short)      # a clean response, just too short
    robot = make_robot(retry=RetryPolicy(attempts=1, backoff_s=0.01))
    with pytest.raises(DownloadError) as caught:
        robot.install(health_check=healthy)
    message = str(caught.value)
    assert f'downloaded {short} of {info.length} bytes' in message
    assert '(the server ended its response before the signed length)' in message
    assert '(None)' not in message


def test_resumed_download_with_corrupt_prefix_restarts_from_zero(tmp_path, writer, server,
                                                                   make_robot):
    publish_release(writer, tmp_path, '1.0.0', payload_bytes=64 * 1024)
    _, info = _bundle(writer, '1.0.0')
    robot = make_robot()
    part = robot.layout.downloads / f'{info.hashes["sha256"]}.part'
    part.write_bytes(b'\xff' * (info.length // 2))           # e.g. garbage after power loss
    assert robot.install(health_check=healthy).outcome == 'committed'
    ranges = [r for _, r in server.bundle_requests()]
    assert ranges == [f'bytes={info.length // 2}-', None]
    assert_on_complete_release(robot.layout.root, '1.0.0')


def test_server_ignoring_range_requests_restarts_cleanly(tmp_path, writer, server, make_robot):
    publish_release(writer, tmp_path, '1.0.0', payload_bytes=128 * 1024)
    suffix, info = _bundle(writer, '1.0.0')
    server.faults[suffix] = Fault(cut_after=info.length // 2, times=1, ignore_range=True)
    robot = make_robot()
    assert robot.install(health_check=healthy).outcome == 'committed'
    assert_on_complete_release(robot.layout.root, '1.0.0')


@pytest.mark.parametrize('ignore_range', [False, True], ids=['range', 'server-ignores-range'])
def test_metadata_download_cut_midway_resumes(tmp_path, writer, server, make_robot,
                                              ignore_range):
    publish_release(writer, tmp_path, '1.0.0')
    tgt, _, _ = load_top(writer.repo_dir)
    name = f'/metadata/{tgt.signed.version}.targets.json'
    server.faults[name] = Fault(cut_after=100, times=1, ignore_range=ignore_range)
    robot = make_robot()
    assert robot.install(health_check=healthy).outcome == 'committed'
    assert [r for p, r in server.requests if p == name] == [None, 'bytes=100-']


def test_progress_is_reported_up_to_the_signed_length(tmp_path, writer, server, make_robot):
    publish_release(writer, tmp_path, '1.0.0', payload_bytes=64 * 1024)
    _, info = _bundle(writer, '1.0.0')
    seen = []
    make_robot().install(health_check=healthy, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (info.length, info.length)
    assert all(t == info.length for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
