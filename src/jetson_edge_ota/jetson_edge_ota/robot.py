"""Robot-side operations: enroll, check, install, commit, rollback, status, recover.

An install walks the steps in ``faults.INSTALL_STEPS``; each is logged, journaled before
it is taken, and recoverable (see ``robot_state.recovery_action``). The health check
decides between commit and automatic rollback. Every public operation first takes the
OTA lock and finishes whatever a killed predecessor left behind.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from tuf.ngclient import UpdaterConfig

from .bundle import read_manifest, verify_slot
from .client import Release, ReleaseClient, validate_trusted_root
from .errors import (DowngradeError, HealthCheckFailed, InsufficientSpaceError, OtaError,
                     StateError, UnsafeBundleError)
from .extract import ExtractLimits, extract_bundle
from .faults import checkpoint
from .fetch import RetryPolicy, part_size
from .fsutil import atomic_symlink, atomic_write_bytes, free_bytes, fsync_dir, remove_tree
from .health import HealthCheck, HealthResult, health_check_from_spec
from .robot_state import (DISCARD, FIRST_TRIAL_BOOT, KEEP_TRIAL, ROLL_BACK, ROLL_FORWARD,
                          Journal, RobotConfig, RobotLayout, SlotInfo, current_boot_id,
                          recovery_action, utc_now)
from .version import ReleaseVersion

LOG = logging.getLogger('jetson_edge_ota')
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CheckResult:
    installed: str | None
    available: str
    jetson_model: str
    update_available: bool


@dataclass(frozen=True)
class InstallResult:
    outcome: str                  # 'committed', 'pending', 'up-to-date', 'nothing-pending'
    version: str | None
    slot: str | None
    previous_version: str | None = None
    health: str = ''
    seconds: float = 0.0


@dataclass(frozen=True)
class StatusReport:
    current: SlotInfo | None
    link_target: str | None
    previous: list[SlotInfo]
    pending: dict | None
    last_result: dict | None
    recovered: str | None
    problems: list[str] = field(default_factory=list)


def _mib(n: int) -> str:
    return f'{n / (1 << 20):.1f} MiB'


class Robot:
    """One robot's OTA state directory and the operations on it."""

    def __init__(self, root: Path, *, retry: RetryPolicy = RetryPolicy(),
                 limits: ExtractLimits = ExtractLimits(), space_reserve_bytes: int = 64 << 20,
                 updater_config: UpdaterConfig | None = None):
        self.layout = RobotLayout(root)
        self.retry = retry
        self.limits = limits
        self.space_reserve_bytes = space_reserve_bytes
        self.updater_config = updater_config

    # -- setup ------------------------------------------------------------------------

    def enroll(self, *, repo_url: str, trusted_root: bytes, jetson_model: str, keep: int = 2,
               health_check: str = 'diagnostics', health_timeout_s: float = 60.0) -> None:
        """Pin the repository's root.json and record where and what to update."""
        config = RobotConfig(repo_url=repo_url.rstrip('/'), jetson_model=jetson_model,
                             keep=keep, health_check=health_check,
                             health_timeout_s=health_timeout_s)
        config.validate()
        health_check_from_spec(health_check)
        root = validate_trusted_root(trusted_root)
        with self.layout:
            atomic_write_bytes(self.layout.metadata_dir / 'root.json', trusted_root)
            self.layout.save_config(config)
        LOG.info('enrolled: repository %s, Jetson model %s, root version %d, keep %d',
                 config.repo_url, jetson_model, root.signed.version, keep)

    def _client(self) -> ReleaseClient:
        config = self.layout.load_config()
        return ReleaseClient(self.layout.metadata_dir, config.repo_url, self.layout.downloads,
                             policy=self.retry, config=self.updater_config)

    # -- queries ----------------------------------------------------------------------

    def check(self) -> CheckResult:
        """Refresh verified metadata and compare the newest release with the installed one."""
        with self.layout:
            self._recover_locked()
            config = self.layout.load_config()
            release = self._client().select(config.jetson_model)
            installed = self.layout.load_state().current
        newer = installed is None or \
            ReleaseVersion.parse(release.version) > ReleaseVersion.parse(installed.version)
        LOG.info('check: installed %s, available %s',
                 installed.version if installed else 'nothing', release.version)
        return CheckResult(installed=installed.version if installed else None,
                           available=release.version, jetson_model=release.jetson_model,
                           update_available=newer)

    def status(self, *, verify_hashes: bool = False) -> StatusReport:
        """Recover any interrupted operation, then report (this is the boot-time call)."""
        try:
            self.layout.lock()
        except StateError:
            state = self.layout.load_state()
            journal = self.layout.load_journal()
            return StatusReport(state.current, self.layout.link_target(), state.previous,
                                journal.to_json() if journal else None, state.last_result,
                                recovered='operation in progress in another process')
        try:
            recovered = self._recover_locked()
            state = self.layout.load_state()
            journal = self.layout.load_journal()
            link = self.layout.link_target()
            problems: list[str] = []
            expected = journal.to_slot.slot if journal else \
                (state.current.slot if state.current else None)
            if link != expected:
                problems.append(f'current points to {link}, expected {expected}')
            if link is not None and self.layout.slot_dir(link).is_dir():
                problems += verify_slot(self.layout.slot_dir(link), hashes=verify_hashes)
            return StatusReport(state.current, link, state.previous,
                                journal.to_json() if journal else None, state.last_result,
                                recovered, problems)
        finally:
            self.layout.unlock()

    # -- install ----------------------------------------------------------------------

    def install(self, *, version: str | None = None, force: bool = False,
                health_check: HealthCheck | None = None, defer_commit: bool = False,
                progress: Progress | None = None) -> InstallResult:
        """Download, verify, unpack, switch, health-check and commit one release.

        Raises ``DowngradeError`` for an older release unless ``force``, and
        ``HealthCheckFailed`` (after switching back) when the new release is unhealthy.
        """
        started = time.monotonic()
        with self.layout:
            self._recover_locked()
            pending = self.layout.load_journal()
            if pending is not None:
                raise StateError(f'release {pending.to_slot.version} is on trial; run '
                                 '`jetson-edge ota commit` or `jetson-edge ota rollback` first')
            config = self.layout.load_config()
            state = self.layout.load_state()
            client = self._client()
            release = client.select(config.jetson_model, version=version)
            installed = state.current
            if installed is not None and not force:
                new, old = (ReleaseVersion.parse(release.version),
                            ReleaseVersion.parse(installed.version))
                if new < old:
                    raise DowngradeError(
                        f'release {release.version} is older than the installed '
                        f'{installed.version}; refusing (anti-rollback). Use `ota rollback` '
                        'to return to a kept release, or --force to override locally')
                if new == old:
                    LOG.info('install: %s is already installed', installed.version)
                    return InstallResult('up-to-date', installed.version, installed.slot)
            self._check_space(client, release)
            to = SlotInfo(slot=self._new_slot_id(release), version=release.version,
                          jetson_model=release.jetson_model, sha256=release.sha256,
                          installed_at=utc_now())
            journal = Journal(op='install', step='downloading', to_slot=to, from_slot=installed,
                              boot_id=current_boot_id(), deferred=defer_commit)
            self._step(journal, 'downloading')
            LOG.info('install: %s (%s, %s) into slot %s, replacing %s', release.version,
                     release.jetson_model, _mib(release.target.length), to.slot,
                     installed.slot if installed else 'nothing')
            try:
                bundle = client.download(release, progress=self._download_progress(progress))
            except OtaError as exc:
                LOG.error('install: download of %s failed: %s', release.version, exc)
                self.layout.clear_journal()
                self._record({'result': 'failed', 'version': release.version,
                              'reason': str(exc)})
                raise
            LOG.info('install: bundle verified against signed length and sha256')
            checkpoint('downloaded')
            self._step(journal, 'extracting')
            self._unpack(bundle, release, to)
            checkpoint('extracted')
            self._step(journal, 'sealed')
            os.rename(self.layout.staging_dir(to.slot), self.layout.slot_dir(to.slot))
            fsync_dir(self.layout.slots)
            checkpoint('sealed')
            self._step(journal, 'switching')
            checkpoint('switching')
            self._point_current_at(to)
            checkpoint('switched')
            self._step(journal, 'trial')
            checkpoint('trial')
            if defer_commit:
                LOG.info('install: %s is current, on trial; run `jetson-edge ota commit` '
                         '(e.g. at boot) to health-check and commit it', to.version)
                return InstallResult('pending', to.version, to.slot,
                                     installed.version if installed else None,
                                     seconds=time.monotonic() - started)
            health = self._health_and_commit(journal, config, health_check)
        return InstallResult('committed', to.version, to.slot,
                             installed.version if installed else None, health.message,
                             time.monotonic() - started)

    def commit(self, *, health_check: HealthCheck | None = None) -> InstallResult:
        """Health-check and commit a release left on trial by ``install(defer_commit=True)``."""
        with self.layout:
            self._recover_locked()
            journal = self.layout.load_journal()
            if journal is None or journal.op != 'install' or journal.step != 'trial':
                current = self.layout.load_state().current
                return InstallResult('nothing-pending', current.version if current else None,
                                     current.slot if current else None)
            config = self.layout.load_config()
            health = self._health_and_commit(journal, config, health_check)
        return InstallResult('committed', journal.to_slot.version, journal.to_slot.slot,
                             journal.from_slot.version if journal.from_slot else None,
                             health.message)

    def rollback(self, *, version: str | None = None) -> SlotInfo | None:
        """Make a kept previous release current again (explicit, local, so always allowed).

        A release on trial (``--defer-commit``) is abandoned instead: its predecessor comes
        back (``None`` if there was none).
        """
        with self.layout:
            self._recover_locked()
            pending = self.layout.load_journal()
            if pending is not None:
                self._roll_back(pending, 'rolled back by request while on trial')
                return pending.from_slot
            state = self.layout.load_state()
            candidates = [p for p in state.previous if version is None or p.version == version]
            if not candidates:
                kept = ', '.join(p.version for p in state.previous) or 'none'
                raise StateError(f'no kept release {"matches " + version if version else ""} '
                                 f'to roll back to (kept: {kept})')
            target = candidates[0]
            problems = verify_slot(self.layout.slot_dir(target.slot))
            if problems:
                raise StateError(f'kept slot {target.slot} is damaged ({problems[0]}); '
                                 'install a release instead')
            journal = Journal(op='rollback', step='switching', to_slot=target,
                              from_slot=state.current, boot_id=current_boot_id())
            self._step(journal, 'switching')
            checkpoint('rollback-switching')
            self._point_current_at(target)
            self._finish_rollback(journal)
            return target

    # -- steps ------------------------------------------------------------------------

    def _step(self, journal: Journal, step: str) -> None:
        journal.step = step
        self.layout.save_journal(journal)
        LOG.info('step %s: %s %s', step, journal.op, journal.to_slot.slot)

    def _download_progress(self, progress: Progress | None) -> Progress:
        halfway = [False]

        def report(done: int, total: int) -> None:
            if progress is not None:
                progress(done, total)
            if not halfway[0] and done * 2 >= total:
                halfway[0] = True
                checkpoint('downloading')
        return report

    def _check_space(self, client: ReleaseClient, release: Release) -> None:
        need = release.extracted_size + self.space_reserve_bytes
        if not client.bundle_path(release).exists():
            need += release.target.length - part_size(client.part_path(release))
        free = free_bytes(self.layout.root)
        LOG.info('space: need %s (bundle %s, unpacked %s), free %s', _mib(need),
                 _mib(release.target.length), _mib(release.extracted_size), _mib(free))
        if free < need:
            raise InsufficientSpaceError(
                f'release {release.version} needs {_mib(need)} free under {self.layout.root} '
                f'and only {_mib(free)} is free; lower `keep` or free space, then retry')

    def _new_slot_id(self, release: Release) -> str:
        base = f'{release.version}-{release.sha256[:8]}'
        slot, n = base, 1
        while self.layout.slot_dir(slot).exists() or self.layout.staging_dir(slot).exists():
            n += 1
            slot = f'{base}-{n}'
        return slot

    def _unpack(self, bundle: Path, release: Release, to: SlotInfo) -> None:
        staging = self.layout.staging_dir(to.slot)
        limits = replace(self.limits, max_total_bytes=min(self.limits.max_total_bytes,
                                                          release.extracted_size))

        def on_member(count: int, _bytes: int) -> None:
            if count == 3:
                checkpoint('extracting')
        try:
            result = extract_bundle(bundle, staging, limits=limits, on_member=on_member)
            manifest = read_manifest(staging)
            if manifest.get('version') != release.version or \
                    manifest.get('jetson_model') != release.jetson_model:
                raise UnsafeBundleError(
                    f'bundle manifest says {manifest.get("version")}/'
                    f'{manifest.get("jetson_model")}, signed metadata says '
                    f'{release.version}/{release.jetson_model}')
            problems = verify_slot(staging)
            if problems:
                raise UnsafeBundleError(f'bundle does not match its manifest: {problems[0]}')
        except UnsafeBundleError as exc:
            LOG.error('install: refused bundle %s: %s', release.target.path, exc)
            remove_tree(staging)
            bundle.unlink(missing_ok=True)   # signed but hostile: never reuse it
            self.layout.clear_journal()
            self._record({'result': 'refused', 'version': release.version, 'reason': str(exc)})
            raise
        os.sync()
        LOG.info('install: unpacked %d files, %d links, %s into %s', result.files,
                 result.links, _mib(result.total_bytes), staging.name)

    def _point_current_at(self, slot: SlotInfo | None) -> None:
        if slot is None:
            self.layout.current.unlink(missing_ok=True)
            fsync_dir(self.layout.root)
            LOG.info('current: removed (no release)')
        else:
            atomic_symlink(self.layout.current, f'slots/{slot.slot}')
            LOG.info('current: -> %s', slot.slot)

    def _run_health(self, config: RobotConfig, health_check: HealthCheck | None,
                    slot: Path) -> HealthResult:
        check = health_check or health_check_from_spec(config.health_check)
        try:
            return check(slot, config.health_timeout_s)
        except Exception as exc:  # a crashing health check is an unhealthy release
            LOG.exception('health check raised')
            return HealthResult(False, f'health check raised {type(exc).__name__}: {exc}')

    def _health_and_commit(self, journal: Journal, config: RobotConfig,
                           health_check: HealthCheck | None) -> HealthResult:
        self._step(journal, 'health')
        checkpoint('health')
        LOG.info('health: checking %s (limit %.0f s)', journal.to_slot.slot,
                 config.health_timeout_s)
        health = self._run_health(config, health_check,
                                  self.layout.slot_dir(journal.to_slot.slot))
        if not health.ok:
            LOG.error('health: %s failed: %s; rolling back', journal.to_slot.version,
                      health.message)
            self._roll_back(journal, f'health check failed: {health.message}')
            back = journal.from_slot.version if journal.from_slot else 'no release'
            raise HealthCheckFailed(f'release {journal.to_slot.version} failed its health '
                                    f'check ({health.message}); rolled back to {back}')
        LOG.info('health: ok: %s', health.message)
        self._step(journal, 'committing')
        checkpoint('committing')
        self._commit(journal, config.keep, health.message)
        return health

    def _record(self, result: dict) -> None:
        state = self.layout.load_state()
        state.last_result = {**result, 'at': utc_now()}
        self.layout.save_state(state)

    def _commit(self, journal: Journal, keep: int, health_message: str = '') -> None:
        """Make the journal's new slot the committed one (idempotent: used in recovery)."""
        to = journal.to_slot
        state = self.layout.load_state()
        if state.current is None or state.current.slot != to.slot:
            previous = ([journal.from_slot] if journal.from_slot else []) + state.previous
            state.previous = [p for p in previous if p.slot != to.slot][:keep]
            state.current = to
            state.last_result = {'result': 'committed', 'version': to.version,
                                 'health': health_message, 'at': utc_now()}
            self.layout.save_state(state)
        checkpoint('committed')
        if self.layout.link_target() != to.slot:
            self._point_current_at(to)
        self._sweep()
        (self.layout.downloads / f'{to.sha256}.bundle').unlink(missing_ok=True)
        checkpoint('pruned')
        self.layout.clear_journal()
        LOG.info('committed %s (slot %s); keeping %s', to.version, to.slot,
                 ', '.join(p.version for p in state.previous) or 'no previous release')

    def _roll_back(self, journal: Journal, reason: str) -> None:
        """Undo a switched install: old slot current again, new slot deleted (idempotent)."""
        self._point_current_at(journal.from_slot)
        remove_tree(self.layout.slot_dir(journal.to_slot.slot))
        remove_tree(self.layout.staging_dir(journal.to_slot.slot))
        self._record({'result': 'rolled_back', 'version': journal.to_slot.version,
                      'reason': reason})
        self.layout.clear_journal()
        LOG.warning('rolled back %s: %s', journal.to_slot.version, reason)

    def _finish_rollback(self, journal: Journal) -> None:
        state = self.layout.load_state()
        target = journal.to_slot
        if state.current is None or state.current.slot != target.slot:
            previous = ([journal.from_slot] if journal.from_slot else []) + state.previous
            state.previous = [p for p in previous if p.slot != target.slot]
            state.current = target
            state.last_result = {'result': 'rolled_back_by_request', 'version': target.version,
                                 'at': utc_now()}
            self.layout.save_state(state)
        if self.layout.link_target() != target.slot:
            self._point_current_at(target)
        self.layout.clear_journal()
        LOG.info('rollback: %s is current again', target.version)

    # -- recovery -----------------------------------------------------------------------

    def _recover_locked(self) -> str | None:
        """Finish or undo an operation whose process died; returns what was done."""
        self.layout.ensure()
        journal = self.layout.load_journal()
        done = None
        if journal is not None:
            action = recovery_action(journal, boot_id=current_boot_id())
            LOG.warning('recovery: %s interrupted at step %s (%s); action: %s', journal.op,
                        journal.step, journal.to_slot.slot, action)
            if action == DISCARD:
                remove_tree(self.layout.staging_dir(journal.to_slot.slot))
                remove_tree(self.layout.slot_dir(journal.to_slot.slot))
                self.layout.clear_journal()
                self._record({'result': 'interrupted', 'version': journal.to_slot.version,
                              'reason': f'interrupted at step {journal.step}; nothing changed'})
            elif action == ROLL_BACK:
                self._roll_back(journal, f'interrupted at step {journal.step} before commit')
            elif action == ROLL_FORWARD:
                if journal.op == 'rollback':
                    self._finish_rollback(journal)
                else:
                    self._commit(journal, self.layout.load_config().keep,
                                 'health passed before interruption')
            elif action == FIRST_TRIAL_BOOT:
                journal.trial_boot_id = current_boot_id()
                self.layout.save_journal(journal)
            done = action if action != KEEP_TRIAL else None
        self._sweep()
        return done

    def _sweep(self) -> None:
        """Delete leftover staging/unreferenced slots; repair ``current`` if it drifted."""
        state = self.layout.load_state()
        journal = self.layout.load_journal()
        keep = {s.slot for s in state.previous}
        if state.current:
            keep.add(state.current.slot)
        if journal is not None:
            keep.add(journal.to_slot.slot)
        for entry in sorted(self.layout.slots.iterdir()):
            if entry.name not in keep:
                LOG.info('sweep: removing %s', entry.name)
                remove_tree(entry)
        for temp in self.layout.root.glob('.*.tmp-*'):     # atomic writes cut short
            temp.unlink(missing_ok=True)
        if journal is None:
            want = state.current.slot if state.current else None
            if self.layout.link_target() != want:
                LOG.warning('current pointed to %s, committed state says %s; repairing',
                            self.layout.link_target(), want)
                self._point_current_at(state.current)
