"""Where the suite's configuration (profiles, model cards, labels) is installed.

``jetson_edge_bringup`` installs the repository's ``config/`` into its share, so an installed
workspace finds it through the ament index like any ROS 2 package's data; ``JETSON_EDGE_CONFIG``
names another folder of the same layout (``profiles/``, ``models/``) and wins.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_ENV = 'JETSON_EDGE_CONFIG'
CONFIG_PACKAGE = 'jetson_edge_bringup'


class ConfigNotFound(LookupError):
    """Neither ``JETSON_EDGE_CONFIG`` nor an installed ``jetson_edge_bringup`` says where config is."""


def config_dir() -> Path:
    """``$JETSON_EDGE_CONFIG``, else ``<share of jetson_edge_bringup>/config``."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        raise ConfigNotFound(f'ament_index_python is not importable, so the installed '
                             f'{CONFIG_PACKAGE} cannot be found; source a ROS 2 workspace '
                             f'or set {CONFIG_ENV} to a folder with profiles/ and models/') from None
    try:
        return Path(get_package_share_directory(CONFIG_PACKAGE)) / 'config'
    except PackageNotFoundError:
        raise ConfigNotFound(f'{CONFIG_PACKAGE} is not installed in any workspace on '
                             f'AMENT_PREFIX_PATH; build it and source install/setup.bash, '
                             f'or set {CONFIG_ENV} to a folder with profiles/ and models/') from None
