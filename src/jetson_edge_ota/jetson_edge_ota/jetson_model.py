"""Which Jetson this is, as the profile name bundles are keyed by (``generic`` elsewhere)."""

from __future__ import annotations

from pathlib import Path

from .bundle import GENERIC_MODEL

_DEVICE_TREE_MODEL = Path('/proc/device-tree/model')
# Most specific names first: "Orin Nano" must not match "Nano".
_MODEL_NAMES = (
    ('agx orin', 'agx_orin'), ('orin nx', 'orin_nx'), ('orin nano', 'orin_nano'),
    ('xavier nx', 'xavier_nx'), ('agx xavier', 'agx_xavier'), ('tx2', 'tx2'), ('nano', 'nano'),
)


def model_from_device_tree(text: str) -> str:
    """Map a device-tree model string (e.g. 'NVIDIA Jetson Orin Nano Developer Kit')."""
    lowered = text.replace('\x00', '').lower()
    for needle, name in _MODEL_NAMES:
        if needle in lowered:
            return name
    return GENERIC_MODEL


def detect_jetson_model(path: Path = _DEVICE_TREE_MODEL) -> str:
    try:
        return model_from_device_tree(path.read_text(errors='replace'))
    except OSError:
        return GENERIC_MODEL
