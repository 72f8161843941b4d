"""Cameras of the perception node: parallel name/topic lists -> each camera's input and output topics.

ROS parameters cannot be lists of records, so cameras come as two string arrays of equal length,
`camera_names` and `camera_topics`. Camera `front` publishes every output under the output topic's
namespace plus its name (`perception/detections` -> `perception/front/detections`), whatever the
task. No cameras listed is one unnamed camera on `image_topic` with the output topics unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

_NAME = re.compile(r'[A-Za-z][A-Za-z0-9_]*')


@dataclass(frozen=True)
class CameraSpec:
    name: str  # '' for the one unnamed camera
    image_topic: str
    outputs: Mapping[str, str]  # output kind (detections, segmentation, overlay, ...) -> topic

    @property
    def label(self) -> str:
        """How diagnostics and logs name the camera."""
        return self.name or self.image_topic


def per_camera_topic(topic: str, camera: str) -> str:
    """`topic` moved into the camera's namespace: ('perception/detections', 'front') -> 'perception/front/detections'."""
    if not camera:
        return topic
    head, sep, tail = topic.rpartition('/')
    return f'{head}{sep}{camera}/{tail}'


def camera_specs(names: Sequence[str], topics: Sequence[str], *, image_topic: str,
                 outputs: Mapping[str, str]) -> list[CameraSpec]:
    """The cameras the parameters describe; raises ValueError saying what is wrong with the lists."""
    if not names and not topics:
        return [CameraSpec('', image_topic, dict(outputs))]
    if len(names) != len(topics):
        raise ValueError(f'camera_names has {len(names)} entries and camera_topics {len(topics)}: '
                         'give one image topic per camera name')
    for name in names:
        if not _NAME.fullmatch(name):
            raise ValueError(f'camera name {name!r} is not a ROS name token (a letter, then letters, digits, _)')
    duplicates = sorted({n for n in names if list(names).count(n) > 1})
    if duplicates:
        raise ValueError(f'camera names repeat: {", ".join(duplicates)}')
    if any(not t for t in topics):
        raise ValueError('camera_topics has an empty topic')
    return [CameraSpec(name, topic, {kind: per_camera_topic(out, name) for kind, out in outputs.items()})
            for name, topic in zip(names, topics)]
