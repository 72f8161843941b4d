"""Fuzzing the common parsers of outside bytes: serialized images and profile YAML.

Contracts: :func:`image_from_cdr` + :func:`image_to_ndarray` return pixels shaped as the
header says or raise :class:`ImageFormatError` with one of its documented reasons;
:func:`load_profile` returns a profile or raises :class:`ProfileError`.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest

from jetson_edge_common.fuzzing import (assert_no_crash, atheris_available, fuzz_seconds, replay,
                                        run_fuzzer)
from jetson_edge_common.image import ENCODINGS, ImageFormatError, image_to_ndarray
from jetson_edge_common.image_cdr import image_from_cdr
from jetson_edge_common.profiles import ProfileError, load_profile, profiles_dir

IMAGE_REASONS = {'encoding', 'zero_size', 'step', 'short_data', 'data', 'encapsulation'}


def image_cdr(data: bytes) -> None:
    try:
        image = image_from_cdr(data)
        pixels = image_to_ndarray(image)
    except ImageFormatError as exc:
        assert exc.reason in IMAGE_REASONS, exc.reason
        return
    channels = ENCODINGS[image.encoding].channels
    expected = (image.height, image.width) + ((channels,) if channels > 1 else ())
    assert pixels.shape == expected


_PROFILES: Path | None = None


def profile_yaml(data: bytes) -> None:
    """``data`` is a profile file placed beside the real ones (so ``extends:`` can reach them)."""
    global _PROFILES
    if _PROFILES is None:
        _PROFILES = Path(tempfile.mkdtemp(prefix='jetson_edge_fuzz_profiles_'))
        atexit.register(shutil.rmtree, _PROFILES, True)
        shutil.copytree(profiles_dir(), _PROFILES, dirs_exist_ok=True)
    path = _PROFILES / '_fuzzed.yaml'
    path.write_bytes(data)
    try:
        profile = load_profile(str(path))
    except ProfileError:
        return
    assert isinstance(profile.data, dict)


def image_seeds() -> list[bytes]:
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import Image

    seeds = []
    for encoding, height, width, step, size in (('bgr8', 2, 3, 9, 18), ('mono16', 3, 2, 5, 15),
                                                ('32FC1', 1, 1, 4, 4), ('rgba8', 1, 2, 8, 7)):
        msg = Image(height=height, width=width, encoding=encoding, step=step,
                    is_bigendian=encoding == 'mono16')
        msg.header.frame_id = 'camera'
        msg.header.stamp.sec = 1_700_000_000
        msg.data = bytes(range(size))
        seeds.append(bytes(serialize_message(msg)))
    return seeds


def profile_seeds() -> list[bytes]:
    return [path.read_bytes() for path in sorted(profiles_dir().glob('*.yaml'))]


def test_seeds_and_regression_inputs_are_handled():
    replay(image_cdr, image_seeds())
    replay(profile_yaml, profile_seeds())


def test_fuzz_seconds_come_from_the_environment(monkeypatch):
    monkeypatch.setenv('JETSON_EDGE_FUZZ_SECONDS', '180')
    assert fuzz_seconds() == 180
    monkeypatch.delenv('JETSON_EDGE_FUZZ_SECONDS')
    assert fuzz_seconds() == 10
    monkeypatch.setenv('JETSON_EDGE_FUZZ_SECONDS', 'ten')
    with pytest.raises(ValueError, match='JETSON_EDGE_FUZZ_SECONDS'):
        fuzz_seconds()


def crashes_on_three_bytes(data: bytes) -> None:
    if len(data) >= 3:
        raise IndexError('planted bug')


@pytest.mark.parametrize('engine', ['random-mutation'] + ['atheris'] * atheris_available())
def test_the_fuzzer_reports_a_crash_and_keeps_its_input(tmp_path, engine):
    report = run_fuzzer(crashes_on_three_bytes, seeds=[b'\xde\x00'], work_dir=tmp_path,
                        instrument=[], seconds=60, engine=engine)
    assert report.failure() is not None
    assert 'planted bug' in report.output
    assert len(report.crash_input.read_bytes()) >= 3


def test_fuzz_image_cdr(tmp_path):
    assert_no_crash(image_cdr, seeds=image_seeds(), work_dir=tmp_path,
                    instrument=['jetson_edge_common'], max_len=1024)


def test_fuzz_profile_yaml(tmp_path):
    assert_no_crash(profile_yaml, seeds=profile_seeds(), work_dir=tmp_path,
                    instrument=['jetson_edge_common'], max_len=8192)
