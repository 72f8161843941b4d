"""DDS transport settings shared by the suite's processes.

``fastdds_large_data.xml`` beside this module is the one home of the suite's Fast DDS settings
(transports, the readers' and writers' memory policies). The containers' profile
(``docker/fastdds.xml``) is generated from it by :func:`container_profile`
(``python -m jetson_edge_common.dds --container > docker/fastdds.xml``): the same policies,
UDPv4 alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

LARGE_DATA_PROFILE = Path(__file__).with_name('fastdds_large_data.xml')

USE_QOS_FROM_XML = 'RMW_FASTRTPS_USE_QOS_FROM_XML'
_USER_CHOICES = ('FASTRTPS_DEFAULT_PROFILES_FILE', 'FASTDDS_DEFAULT_PROFILES_FILE',
                 'FASTDDS_BUILTIN_TRANSPORTS')


def use_large_data_transport(environ=os.environ) -> bool:
    """Points Fast DDS at a profile whose shared-memory segment carries whole scans and frames.

    Leaves the environment alone when another RMW is chosen or the user set a Fast DDS profile
    of their own (containers set a UDP-only one). Must run before ``rclpy.init``; returns
    whether it changed anything.
    """
    rmw = environ.get('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
    if rmw != 'rmw_fastrtps_cpp' or any(key in environ for key in _USER_CHOICES):
        return False
    environ['FASTRTPS_DEFAULT_PROFILES_FILE'] = str(LARGE_DATA_PROFILE)
    # Without it rmw_fastrtps ignores the profile's history memory policy (readers freeing big samples).
    environ.setdefault(USE_QOS_FROM_XML, '1')
    return True


def clean_stale_shared_memory(environ=os.environ, *, run=subprocess.run) -> str:
    """Removes the shared-memory ports and segments a killed Fast DDS process left behind.

    A participant killed by a signal cannot release them, and a participant started next may
    fail to open its port ("open_and_lock_file failed") and go unheard over shared memory
    (eProsima/Fast-DDS#5469). ``fastdds shm clean`` removes only segments no live process holds.
    Returns what happened, for the log; a missing tool or a failure is reported, never raised.
    """
    if environ.get('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp') != 'rmw_fastrtps_cpp':
        return 'not Fast DDS: no shared-memory clean-up'
    tool = shutil.which('fastdds', path=environ.get('PATH'))
    if tool is None:
        return 'fastdds (Fast DDS tools) not on PATH: stale shared-memory segments left in place'
    try:
        done = run([tool, 'shm', 'clean'], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f'fastdds shm clean failed: {exc}'
    if done.returncode != 0:
        return f'fastdds shm clean failed (exit {done.returncode}): {done.stderr.strip()[-200:]}'
    return 'fastdds shm clean: ' + '; '.join(line.strip() for line in done.stdout.splitlines() if line.strip())


_NS = 'http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles'
_CONTAINER_NOTE = f"""
  GENERATED from src/jetson_edge_common/jetson_edge_common/{LARGE_DATA_PROFILE.name} (the suite's
  Fast DDS settings) by `python -m jetson_edge_common.dds --container > docker/fastdds.xml`;
  edit that file, not this one. docker-compose.jetson.yml mounts it and points
  FASTRTPS_DEFAULT_PROFILES_FILE at it.

  UDPv4 only. With host networking every container looks like the same host to Fast DDS, which
  then prefers its shared-memory transport; the containers do not share /dev/shm, so those
  messages would never arrive. Declaring UDPv4 alone keeps discovery and data on the loopback
  and robot interfaces. The readers' and writers' memory policies are the suite's (read with
  RMW_FASTRTPS_USE_QOS_FROM_XML=1, which the compose file sets).
"""


def container_profile(source: Path = LARGE_DATA_PROFILE) -> str:
    """The Fast DDS profile of ``source`` with its shared-memory transports removed."""
    ET.register_namespace('', _NS)
    root = ET.fromstring(Path(source).read_text())
    descriptors = root.find(f'{{{_NS}}}transport_descriptors')
    shared_memory = set()
    for descriptor in list(descriptors):
        if descriptor.findtext(f'{{{_NS}}}type') == 'SHM':
            shared_memory.add(descriptor.findtext(f'{{{_NS}}}transport_id'))
            descriptors.remove(descriptor)
    for transports in root.iter(f'{{{_NS}}}userTransports'):
        for transport in list(transports):
            if transport.text in shared_memory:
                transports.remove(transport)
    if not any(d.findtext(f'{{{_NS}}}type') == 'UDPv4' for d in descriptors):
        raise ValueError(f'{source} declares no UDPv4 transport for the containers to keep')
    body = ET.tostring(root, encoding='unicode')
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!--{_CONTAINER_NOTE}-->\n{body}\n'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m jetson_edge_common.dds',
                                     description='print a Fast DDS profile of the suite')
    parser.add_argument('--container', action='store_true', required=True,
                        help='the containers\' profile (UDPv4 only), for docker/fastdds.xml')
    parser.parse_args(argv)
    sys.stdout.write(container_profile())
    return 0


if __name__ == '__main__':
    sys.exit(main())
