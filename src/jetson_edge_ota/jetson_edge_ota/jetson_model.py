"""Which bundle this robot installs: its profile name (``orin_nano``, ...) or ``generic``.

Bundles are keyed by the suite's profile names, and the profile is picked from
``/proc/device-tree/model`` by ``jetson_edge_common.profiles`` (one source of truth for the
device-tree strings). A machine that matches no Jetson profile gets the generic bundle.
"""

from __future__ import annotations

import os

from jetson_edge_common.profiles import match_device_tree

from .bundle import GENERIC_MODEL


def detect_jetson_model(*, root: str | os.PathLike = '/') -> tuple[str, str]:
    """(bundle name, explanation) for the machine whose filesystem root is ``root``."""
    model, profile = match_device_tree(root=root)
    if model is None:
        return GENERIC_MODEL, f'no device-tree model under {root}: the {GENERIC_MODEL!r} bundle'
    if profile is None:
        return GENERIC_MODEL, f'device-tree model {model!r} matches no profile: the {GENERIC_MODEL!r} bundle'
    return profile, f'device-tree model {model!r} -> profile {profile!r}'

