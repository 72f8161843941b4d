"""Message classes from their ROS names, for tools that subscribe to topics named at run time."""

from __future__ import annotations

import importlib


def message_type(name: str) -> type:
    """``'sensor_msgs/msg/Image'`` (or ``'sensor_msgs/Image'``) -> the message class."""
    package, _, cls = name.replace('/msg/', '/').partition('/')
    if not package or not cls or '/' in cls:
        raise ValueError(f'{name!r} is not a message type name: write it as <package>/msg/<Type>, '
                         'e.g. sensor_msgs/msg/Image')
    try:
        module = importlib.import_module(f'{package}.msg')
    except ImportError as exc:
        raise ValueError(f'message package {package!r} is not installed ({exc}); '
                         'source the workspace that provides it') from exc
    try:
        return getattr(module, cls)
    except AttributeError:
        raise ValueError(f'{package} has no message {cls!r}') from None
