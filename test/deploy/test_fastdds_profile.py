"""docker/fastdds.xml, the DDS settings every container shares: Fast DDS (through the ROS 2
RMW the suite uses) loads it without complaint, and two processes that both use it exchange
messages. Two controls show the checks can fail: a malformed copy makes Fast DDS complain, and
a copy whose UDP transport may use no interface silences the pair, which proves the file's
participant profile really is the one the RMW applies. The file is generated from the suite's
own profile (the one home of those settings), less its shared-memory transport."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy_checks import DOCKER

PROFILE = DOCKER / 'fastdds.xml'
ROUNDTRIP = Path(__file__).with_name('dds_roundtrip.py')


def test_the_file_is_the_suites_profile_over_udp_only():
    from jetson_edge_common.dds import container_profile

    assert PROFILE.read_text() == container_profile(), (
        'docker/fastdds.xml is out of date: python -m jetson_edge_common.dds --container '
        '> docker/fastdds.xml')
    assert '<type>SHM</type>' not in PROFILE.read_text()
    assert '<historyMemoryPolicy>DYNAMIC</historyMemoryPolicy>' in PROFILE.read_text()


pytest.importorskip('rclpy', reason='needs ROS 2 (scripts/setup.sh, then source scripts/env.sh)')
pytest.importorskip('std_msgs.msg', reason='needs std_msgs from ROS 2')


def roundtrip(profile: Path, *, seconds: float = 4.0) -> tuple[dict, str]:
    """Runs a talker and a listener with ``profile`` and returns the listener's count and both
    processes' output (Fast DDS logs its errors to stdout).

    Discovery range SUBNET, as in the containers: with LOCALHOST, rmw_fastrtps replaces the
    profile's transports with its own, so the profile would not be what is being tested. The
    domain id keeps clear of the 1-100 that the system tests use."""
    env = dict(os.environ, RMW_IMPLEMENTATION='rmw_fastrtps_cpp',
               FASTRTPS_DEFAULT_PROFILES_FILE=str(profile),
               ROS_DOMAIN_ID=str(150 + os.getpid() % 80),
               ROS_AUTOMATIC_DISCOVERY_RANGE='SUBNET')
    topic = f'jetson_edge_dds_check_{os.getpid()}'
    listener = subprocess.Popen([sys.executable, str(ROUNDTRIP), 'listen', topic, str(seconds)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
    talker = subprocess.Popen([sys.executable, str(ROUNDTRIP), 'talk', topic, str(seconds)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    talker_out, talker_err = talker.communicate(timeout=seconds + 60)
    listener_out, listener_err = listener.communicate(timeout=seconds + 60)
    output = talker_out + talker_err + listener_out + listener_err
    assert talker.returncode == 0, output
    assert listener.returncode == 0, output
    return json.loads(listener_out.strip().splitlines()[-1]), output


def test_processes_using_the_profile_exchange_messages():
    result, output = roundtrip(PROFILE)
    assert 'XMLPARSER' not in output and 'Error' not in output, output
    assert result['received'] > 0, output


def test_a_malformed_profile_is_reported_by_fast_dds(tmp_path):
    broken = tmp_path / 'fastdds.xml'
    broken.write_text(PROFILE.read_text()[:-40])
    _, output = roundtrip(broken, seconds=1.0)
    assert 'XMLPARSER' in output, output


def test_the_profile_is_the_one_the_rmw_applies(tmp_path):
    restricted = tmp_path / 'fastdds.xml'
    restricted.write_text(PROFILE.read_text().replace(
        '<type>UDPv4</type>',
        '<type>UDPv4</type><interfaceWhiteList><address>192.0.2.1</address></interfaceWhiteList>'))
    result, output = roundtrip(restricted, seconds=2.5)
    assert result['received'] == 0, 'messages crossed a transport the profile had closed'
    assert 'whitelist' in output.lower(), output
