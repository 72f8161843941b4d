"""DDS transport settings shared by the suite's processes."""

from __future__ import annotations

import os
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
