"""The publishing side: a static TUF repository of release bundles.

Layout (any HTTP server, S3 bucket or CDN can serve it as plain files)::

    <repo>/metadata/1.root.json, root.json        root, versioned (rotations) and latest
    <repo>/metadata/<N>.targets.json              consistent snapshots: every version kept,
    <repo>/metadata/<N>.snapshot.json             so a client mid-update never sees a mix
    <repo>/metadata/timestamp.json                the only file overwritten, last, atomically
    <repo>/targets/jetson-edge/<sha256>.index.json                   which releases exist
    <repo>/targets/jetson-edge/<version>/<sha256>.<model>.tar.gz     the bundles

Files are written bottom-up (targets, targets metadata, snapshot, then timestamp) so that
at every moment the served timestamp points at complete, already-written files.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tuf.api.metadata import (Key, Metadata, MetaFile, Role, Root, Snapshot, TargetFile,
                              Targets, Timestamp)
from tuf.api.serialization.json import JSONSerializer

from . import keys as keystore
from .bundle import BundleInfo
from .errors import ConfigError, PublishError, SigningKeyError
from .fsutil import atomic_write_bytes, atomic_write_json, read_json
from .version import ReleaseVersion

INDEX_TARGET = 'jetson-edge/index.json'
INDEX_FORMAT = 1
POLICY_FILE = 'policy.json'
_SERIALIZER = JSONSerializer(compact=False)
_DURATION_RE = re.compile(r'^(\d+(?:\.\d+)?)([smhdw])$')
_DURATION_UNITS = {'s': 'seconds', 'm': 'minutes', 'h': 'hours', 'd': 'days', 'w': 'weeks'}


def parse_duration(text: str) -> timedelta:
    """``'365d'``, ``'12h'``, ``'30m'``, ``'90s'``, ``'2w'`` -> timedelta."""
    match = _DURATION_RE.match(text.strip())
    if match is None:
        raise ConfigError(f'invalid duration {text!r}: use a number and one of s, m, h, d, w '
                          '(for example 365d or 12h)')
    return timedelta(**{_DURATION_UNITS[match.group(2)]: float(match.group(1))})


@dataclass(frozen=True)
class RolePolicy:
    """How many keys a role has, how many must sign, and how long its metadata lives."""

    keys: int
    threshold: int
    expiry: str


def _default_roles() -> dict[str, RolePolicy]:
    return {
        'root': RolePolicy(keys=1, threshold=1, expiry='365d'),
        'targets': RolePolicy(keys=1, threshold=1, expiry='90d'),
        'snapshot': RolePolicy(keys=1, threshold=1, expiry='7d'),
        'timestamp': RolePolicy(keys=1, threshold=1, expiry='1d'),
    }


@dataclass(frozen=True)
class RepositoryPolicy:
    """Per-role key count, signature threshold and metadata expiry."""

    roles: dict[str, RolePolicy] = field(default_factory=_default_roles)

    def with_overrides(self, *, keys: dict[str, int] | None = None,
                       thresholds: dict[str, int] | None = None,
                       expiry: dict[str, str] | None = None) -> RepositoryPolicy:
        roles = dict(self.roles)
        for name, mapping in (('keys', keys), ('threshold', thresholds), ('expiry', expiry)):
            for role, value in (mapping or {}).items():
                if role not in roles:
                    raise ConfigError(f'unknown role {role!r}; roles are {", ".join(roles)}')
                roles[role] = RolePolicy(**{**asdict(roles[role]), name: value})
        policy = RepositoryPolicy(roles)
        policy.validate()
        return policy

    def validate(self) -> None:
        for role, rp in self.roles.items():
            if rp.threshold < 1 or rp.keys < rp.threshold:
                raise ConfigError(
                    f'role {role}: threshold {rp.threshold} needs 1 <= threshold <= keys '
                    f'({rp.keys})')
            parse_duration(rp.expiry)

    def expires(self, role: str, now: datetime) -> datetime:
        return now + parse_duration(self.roles[role].expiry)

    def to_json(self) -> dict:
        return {role: asdict(rp) for role, rp in self.roles.items()}

    @classmethod
    def from_json(cls, data: dict) -> RepositoryPolicy:
        try:
            policy = cls({role: RolePolicy(**data[role]) for role in keystore.ROLES})
        except (KeyError, TypeError) as exc:
            raise ConfigError(f'malformed repository policy: {exc}') from exc
        policy.validate()
        return policy


@dataclass(frozen=True)
class PublishResult:
    """Versions written by one publish or refresh."""

    targets_version: int
    snapshot_version: int
    timestamp_version: int
    target_paths: tuple[str, ...] = ()


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _bytes(md: Metadata) -> bytes:
    return md.to_bytes(_SERIALIZER)


def bundle_target_path(version: str, jetson_model: str, *, compressed: bool) -> str:
    return f'jetson-edge/{version}/{jetson_model}.tar{".gz" if compressed else ""}'


def _stored_target_path(targets_dir: Path, target_path: str, sha256: str) -> Path:
    dirname, _, basename = target_path.rpartition('/')
    return targets_dir / dirname / f'{sha256}.{basename}'


class RepositoryWriter:
    """Creates and updates one static TUF repository with keys from ``keys_dir``.

    ``now`` fixes the clock (tests sign already-expired metadata with it).
    """

    def __init__(self, repo_dir: Path, keys_dir: Path, *, now: datetime | None = None):
        self.repo_dir = Path(repo_dir)
        self.keys_dir = Path(keys_dir)
        self.metadata_dir = self.repo_dir / 'metadata'
        self.targets_dir = self.repo_dir / 'targets'
        self._now = now

    @property
    def now(self) -> datetime:
        return self._now or _now()

    # -- creation ---------------------------------------------------------------------

    def init(self, policy: RepositoryPolicy = RepositoryPolicy()) -> PublishResult:
        """Generate keys for every role and write version 1 of all four roles."""
        policy.validate()
        if (self.metadata_dir / 'root.json').exists():
            raise PublishError(f'{self.repo_dir} already holds a TUF repository')
        self.metadata_dir.mkdir(parents=True, exist_ok=True)
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        now = self.now
        root = Metadata(Root(expires=policy.expires('root', now), consistent_snapshot=True))
        signers = {}
        for role in keystore.ROLES:
            rp = policy.roles[role]
            signers[role] = keystore.generate_role_keys(self.keys_dir, role, rp.keys)
            root.signed.roles[role] = Role([], rp.threshold)
            for signer in signers[role]:
                root.signed.add_key(signer.public_key, role)
        for signer in signers['root']:
            root.sign(signer, append=True)
        atomic_write_json(self.keys_dir / POLICY_FILE, policy.to_json(), mode=0o600)
        root_bytes = _bytes(root)
        atomic_write_bytes(self.metadata_dir / '1.root.json', root_bytes)
        atomic_write_bytes(self.metadata_dir / 'root.json', root_bytes)
        targets = Metadata(Targets(expires=policy.expires('targets', now)))
        self._write_index(targets, {'format': INDEX_FORMAT, 'releases': []})
        return self._write_top(root.signed, targets, Snapshot(), policy,
                               snapshot_is_new=True)

    # -- state ------------------------------------------------------------------------

    def _policy(self) -> RepositoryPolicy:
        data = read_json(self.keys_dir / POLICY_FILE)
        if data is None:
            raise SigningKeyError(f'{self.keys_dir / POLICY_FILE} missing: run `ota keys init`')
        return RepositoryPolicy.from_json(data)

    def _load(self) -> tuple[Root, Metadata[Targets], Metadata[Snapshot], Metadata[Timestamp]]:
        try:
            root = Metadata[Root].from_file(str(self.metadata_dir / 'root.json')).signed
            timestamp = Metadata[Timestamp].from_file(str(self.metadata_dir / 'timestamp.json'))
            snap_v = timestamp.signed.snapshot_meta.version
            snapshot = Metadata[Snapshot].from_file(
                str(self.metadata_dir / f'{snap_v}.snapshot.json'))
            targets_v = snapshot.signed.meta['targets.json'].version
            targets = Metadata[Targets].from_file(
                str(self.metadata_dir / f'{targets_v}.targets.json'))
        except (OSError, ValueError, KeyError) as exc:
            raise PublishError(f'cannot read repository {self.repo_dir}: {exc}; '
                               'create one with `ota keys init`') from exc
        return root, targets, snapshot, timestamp

    def read_index(self, targets: Targets | None = None) -> dict:
        if targets is None:
            targets = self._load()[1].signed
        info = targets.targets.get(INDEX_TARGET)
        if info is None:
            return {'format': INDEX_FORMAT, 'releases': []}
        path = _stored_target_path(self.targets_dir, INDEX_TARGET, info.hashes['sha256'])
        return json.loads(path.read_text())

    # -- signing ----------------------------------------------------------------------

    def _sign(self, md: Metadata, root: Root, role: str) -> None:
        role_info = root.roles[role]
        authorized: dict[str, Key] = {kid: root.keys[kid] for kid in role_info.keyids}
        signers = keystore.load_role_signers(self.keys_dir, role, authorized)
        if len(signers) < role_info.threshold:
            raise SigningKeyError(
                f'role {role} needs {role_info.threshold} signature(s) but {self.keys_dir} '
                f'holds {len(signers)} of its authorized keys')
        md.signatures.clear()
        for signer in signers:
            md.sign(signer, append=True)

    def _write_index(self, targets: Metadata[Targets], index: dict) -> None:
        data = (json.dumps(index, indent=1, sort_keys=True) + '\n').encode()
        info = TargetFile.from_data(INDEX_TARGET, data, ['sha256'])
        path = _stored_target_path(self.targets_dir, INDEX_TARGET, info.hashes['sha256'])
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
        targets.signed.targets[INDEX_TARGET] = info

    def _write_top(self, root: Root, targets: Metadata[Targets] | None,
                   snapshot: Snapshot, policy: RepositoryPolicy, *,
                   snapshot_is_new: bool = False,
                   timestamp_version: int = 1) -> PublishResult:
        now = self.now
        snap_md = Metadata(snapshot)
        if targets is not None:
            targets.signed.expires = policy.expires('targets', now)
            self._sign(targets, root, 'targets')
            targets_bytes = _bytes(targets)
            atomic_write_bytes(
                self.metadata_dir / f'{targets.signed.version}.targets.json', targets_bytes)
            snapshot.meta['targets.json'] = MetaFile(
                targets.signed.version, len(targets_bytes),
                {'sha256': hashlib.sha256(targets_bytes).hexdigest()})
        if not snapshot_is_new:
            snapshot.version += 1
        snapshot.expires = policy.expires('snapshot', now)
        self._sign(snap_md, root, 'snapshot')
        snap_bytes = _bytes(snap_md)
        atomic_write_bytes(self.metadata_dir / f'{snapshot.version}.snapshot.json', snap_bytes)
        timestamp = Metadata(Timestamp(
            version=timestamp_version, expires=policy.expires('timestamp', now),
            snapshot_meta=MetaFile(snapshot.version, len(snap_bytes),
                                   {'sha256': hashlib.sha256(snap_bytes).hexdigest()})))
        self._sign(timestamp, root, 'timestamp')
        atomic_write_bytes(self.metadata_dir / 'timestamp.json', _bytes(timestamp))
        return PublishResult(
            targets_version=snapshot.meta['targets.json'].version,
            snapshot_version=snapshot.version, timestamp_version=timestamp_version)

    # -- publishing -------------------------------------------------------------------

    def publish(self, bundles: list[BundleInfo], *, notes: str = '') -> PublishResult:
        """Add one release (one bundle per Jetson model) and re-sign targets/snapshot/timestamp."""
        if not bundles:
            raise PublishError('nothing to publish: no bundles given')
        versions = {b.version for b in bundles}
        if len(versions) != 1:
            raise PublishError(f'bundles of one release must share a version, got {versions}')
        version = versions.pop()
        ReleaseVersion.parse(version)
        policy = self._policy()
        root, targets, snapshot, timestamp = self._load()
        index = self.read_index(targets.signed)
        if any(r['version'] == version for r in index['releases']):
            raise PublishError(f'release {version} is already published; bump the version')
        paths: dict[str, str] = {}
        for bundle in bundles:
            compressed = bundle.path.name.endswith('.gz')
            target_path = bundle_target_path(version, bundle.jetson_model, compressed=compressed)
            stored = _stored_target_path(self.targets_dir, target_path, bundle.sha256)
            stored.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(bundle.path, stored)
            targets.signed.targets[target_path] = TargetFile(
                bundle.length, {'sha256': bundle.sha256}, target_path,
                unrecognized_fields={'custom': {
                    'version': version, 'jetson_model': bundle.jetson_model,
                    'extracted_size': bundle.extracted_size, 'files': bundle.files}})
            paths[bundle.jetson_model] = target_path
        index['releases'].append({'version': version, 'created': self.now.isoformat(),
                                  'notes': notes, 'bundles': paths})
        index['releases'].sort(key=lambda r: ReleaseVersion.parse(r['version']))
        self._write_index(targets, index)
        targets.signed.version += 1
        result = self._write_top(root, targets, snapshot.signed, policy,
                                 timestamp_version=timestamp.signed.version + 1)
        return PublishResult(result.targets_version, result.snapshot_version,
                             result.timestamp_version, tuple(sorted(paths.values())))

    def refresh(self, *, include_targets: bool = False) -> PublishResult:
        """Re-sign snapshot and timestamp (and targets if asked) with fresh expiry.

        Robots refuse expired metadata, which is what defeats a frozen repository; run this
        from cron on the publisher so an unchanged repository stays fresh.
        """
        policy = self._policy()
        root, targets, snapshot, timestamp = self._load()
        if include_targets:
            targets.signed.version += 1
        return self._write_top(root, targets if include_targets else None, snapshot.signed,
                               policy, timestamp_version=timestamp.signed.version + 1)
