"""The robot's view of the repository: python-tuf ngclient verification of every byte.

Metadata (root rotation, timestamp, snapshot, targets: signatures, thresholds, version
numbers, expiry, lengths, hashes) is verified by ``tuf.ngclient.Updater``. The release
index is itself a TUF target. The bundle is fetched by the resumable downloader and then
checked against the signed ``TargetFile`` (length and sha256) before anything uses it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from tuf.api import exceptions as tuf_exceptions
from tuf.api.metadata import Metadata, Root, TargetFile
from tuf.ngclient import Updater, UpdaterConfig

from .bundle import GENERIC_MODEL
from .errors import ConfigError, DownloadError, ReleaseNotFoundError, VerificationError
from .fetch import RetryingFetcher, RetryPolicy, download_resumable
from .repository import INDEX_TARGET
from .version import ReleaseVersion

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Release:
    """One installable bundle, as described by verified targets metadata."""

    version: str
    jetson_model: str
    target: TargetFile
    extracted_size: int

    @property
    def sha256(self) -> str:
        return self.target.hashes['sha256']


def _wrap(exc: Exception, doing: str) -> Exception:
    if isinstance(exc, tuf_exceptions.ExpiredMetadataError):
        return VerificationError(f'{doing}: {exc} (frozen or stale repository: the publisher '
                                 'must run `ota refresh`)')
    if isinstance(exc, tuf_exceptions.RepositoryError):
        return VerificationError(f'{doing}: {type(exc).__name__}: {exc}')
    if isinstance(exc, tuf_exceptions.DownloadError):
        return DownloadError(f'{doing}: {type(exc).__name__}: {exc}')
    return exc


def validate_trusted_root(root_bytes: bytes) -> Metadata[Root]:
    """Parse a root.json to be pinned on a robot; it must carry its own threshold of signatures."""
    try:
        root = Metadata[Root].from_bytes(root_bytes)
        root.verify_delegate(Root.type, root)
    except Exception as exc:  # any parse or signature failure means: do not pin it
        raise VerificationError(f'trusted root is not a valid, self-signed TUF root: {exc}') \
            from exc
    return root


class ReleaseClient:
    """Refreshes metadata and downloads verified bundles from ``repo_url``.

    ``metadata_dir`` must hold the pinned ``root.json`` (written by ``enroll``); ngclient
    keeps it up to date through verified root rotations.
    """

    def __init__(self, metadata_dir: Path, repo_url: str, cache_dir: Path, *,
                 policy: RetryPolicy = RetryPolicy(), config: UpdaterConfig | None = None):
        self.metadata_dir = Path(metadata_dir)
        self.cache_dir = Path(cache_dir)
        self.repo_url = repo_url.rstrip('/')
        self.policy = policy
        self.config = config or UpdaterConfig()
        self._updater: Updater | None = None
        if not (self.metadata_dir / 'root.json').is_file():
            raise ConfigError(f'no trusted root in {self.metadata_dir}: run `jetson-edge ota '
                              'enroll --trusted-root root.json --repo-url URL` first')

    def refresh(self) -> None:
        """Fetch and verify the newest top-level metadata (once per client)."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # bootstrap=None: the trust anchor is the root.json that `enroll` pinned (after checking
        # its self-signatures) in the robot's root-owned state directory, which ngclient then
        # advances only through verified root rotations.
        updater = Updater(
            metadata_dir=str(self.metadata_dir), metadata_base_url=f'{self.repo_url}/metadata/',
            target_dir=str(self.cache_dir), target_base_url=f'{self.repo_url}/targets/',
            fetcher=RetryingFetcher(policy=self.policy), config=self.config, bootstrap=None)
        try:
            updater.refresh()
        except Exception as exc:
            raise _wrap(exc, 'refreshing repository metadata') from exc
        self._updater = updater

    def _target(self, path: str) -> TargetFile:
        if self._updater is None:
            self.refresh()
        try:
            info = self._updater.get_targetinfo(path)
        except Exception as exc:
            raise _wrap(exc, f'looking up {path}') from exc
        if info is None:
            raise ReleaseNotFoundError(f'the signed targets metadata has no {path}')
        return info

    def releases(self) -> list[dict]:
        """The release index (a verified TUF target), oldest first."""
        info = self._target(INDEX_TARGET)
        try:
            path = self._updater.download_target(
                info, filepath=str(self.cache_dir / 'index.json'))
        except Exception as exc:
            raise _wrap(exc, 'downloading the release index') from exc
        try:
            index = json.loads(Path(path).read_text())
            releases = index['releases']
            for release in releases:
                ReleaseVersion.parse(release['version'])
                bundles = release['bundles']
                if not isinstance(bundles, dict) or not all(
                        isinstance(k, str) and isinstance(v, str) for k, v in bundles.items()):
                    raise TypeError('bundles is not a mapping of Jetson model to target path')
        except (ValueError, KeyError, TypeError, ConfigError) as exc:
            raise VerificationError(f'release index is malformed: {exc}') from exc
        return sorted(releases, key=lambda r: ReleaseVersion.parse(r['version']))

    def select(self, jetson_model: str, *, version: str | None = None) -> Release:
        """The newest release (or ``version``) with a bundle for ``jetson_model`` or generic."""
        candidates = [r for r in self.releases()
                      if version is None or r['version'] == version]
        if not candidates:
            raise ReleaseNotFoundError(
                f'release {version} is not in the repository' if version else
                'the repository has no releases yet')
        entry = candidates[-1]
        model = jetson_model if jetson_model in entry['bundles'] else GENERIC_MODEL
        if model not in entry['bundles']:
            raise ReleaseNotFoundError(
                f'release {entry["version"]} has no bundle for {jetson_model!r} and no '
                f'generic bundle (it has: {", ".join(sorted(entry["bundles"]))})')
        if model != jetson_model:
            LOG.info('release %s has no %s bundle; using the generic one', entry['version'],
                     jetson_model)
        info = self._target(entry['bundles'][model])
        custom = info.custom if isinstance(info.custom, dict) else {}
        if custom.get('version') != entry['version'] or custom.get('jetson_model') != model or \
                not isinstance(custom.get('extracted_size'), int):
            raise VerificationError(
                f'signed metadata of {info.path} does not match the index entry '
                f'(version {custom.get("version")!r}, model {custom.get("jetson_model")!r})')
        return Release(version=entry['version'], jetson_model=model, target=info,
                       extracted_size=custom['extracted_size'])

    def _target_url(self, info: TargetFile) -> str:
        root = Metadata[Root].from_file(str(self.metadata_dir / 'root.json')).signed
        dirname, sep, basename = info.path.rpartition('/')
        if root.consistent_snapshot and self.config.prefix_targets_with_hash:
            basename = f'{info.hashes["sha256"]}.{basename}'
        return f'{self.repo_url}/targets/{quote(dirname + sep + basename)}'

    def bundle_path(self, release: Release) -> Path:
        """Where the verified bundle is (or will be) cached."""
        return self.cache_dir / f'{release.sha256}.bundle'

    def part_path(self, release: Release) -> Path:
        return self.cache_dir / f'{release.sha256}.part'

    def download(self, release: Release, *,
                 progress: Callable[[int, int], None] | None = None) -> Path:
        """Download (resuming any partial file) and verify the bundle; returns its path."""
        final = self.bundle_path(release)
        if final.exists():
            if self._verifies(release, final):
                LOG.info('bundle %s already downloaded and verified', release.sha256[:12])
                return final
            final.unlink()
        part = self.part_path(release)
        url = self._target_url(release.target)
        for _ in range(2):
            resumed_from = download_resumable(url, part, length=release.target.length,
                                              policy=self.policy, progress=progress)
            if self._verifies(release, part):
                part.rename(final)
                return final
            part.unlink()
            if resumed_from == 0:
                break
            # The kept prefix may have been corrupt: one clean retry from byte 0.
            LOG.warning('resumed download of %s failed verification; restarting from byte 0',
                        release.target.path)
        raise VerificationError(
            f'{release.target.path}: downloaded bytes do not match the signed length and '
            'sha256 (tampered or corrupted target); nothing was installed')

    @staticmethod
    def _verifies(release: Release, path: Path) -> bool:
        try:
            with open(path, 'rb') as handle:
                release.target.verify_length_and_hashes(handle)
        except tuf_exceptions.LengthOrHashMismatchError as exc:
            LOG.error('%s failed verification: %s', release.target.path, exc)
            return False
        return True
