"""The robot's OTA state directory: layout, committed state, journal, lock, recovery rules.

::

    <root>/config.json        repository URL, Jetson model, slots to keep, health check
    <root>/tuf/               ngclient's trusted metadata (root.json pinned by enroll)
    <root>/downloads/         <sha256>.part (resumable) and <sha256>.bundle (verified)
    <root>/slots/<id>/        one complete release per directory
    <root>/slots/.staging-<id>/   a release being unpacked (never pointed at)
    <root>/current -> slots/<id>  what runs; switched by renaming a temp symlink over it
    <root>/state.json         committed truth: current slot, previous slots, last result
    <root>/journal.json       the operation in flight and the step it reached
    <root>/ota.log            every step, appended

Crash-safety rests on three facts: a slot directory only gets its final name once it is
complete and synced; ``current`` changes only by an atomic rename; ``state.json`` and
``journal.json`` are replaced atomically, and the journal step is written *before* the
action it names. ``recovery_action`` then decides, from the journal alone, whether a
dead operation is undone (old release) or finished (new release).
"""

from __future__ import annotations

import fcntl
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .errors import ConfigError, StateError
from .fsutil import atomic_write_json, read_json

STATE_FORMAT = 1
_BOOT_ID_PATH = Path('/proc/sys/kernel/random/boot_id')
_SLOT_ID_RE = re.compile(r'^[0-9A-Za-z.+-]+$')


def utc_now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def current_boot_id() -> str:
    """The kernel's per-boot random id (changes on every reboot)."""
    try:
        return _BOOT_ID_PATH.read_text().strip()
    except OSError:
        return 'unknown-boot'


@dataclass(frozen=True)
class SlotInfo:
    """One release unpacked in a slot directory."""

    slot: str
    version: str
    jetson_model: str
    sha256: str
    installed_at: str = ''

    @classmethod
    def from_json(cls, data: dict | None) -> SlotInfo | None:
        if data is None:
            return None
        try:
            info = cls(**data)
        except TypeError as exc:
            raise StateError(f'malformed slot record {data!r}: {exc}') from exc
        if not _SLOT_ID_RE.match(info.slot):
            raise StateError(f'malformed slot id {info.slot!r} in OTA state')
        return info


@dataclass
class RobotState:
    """Committed state: what ``current`` must point to when no operation is in flight."""

    current: SlotInfo | None = None
    previous: list[SlotInfo] = field(default_factory=list)
    last_result: dict | None = None

    def to_json(self) -> dict:
        return {'format': STATE_FORMAT,
                'current': asdict(self.current) if self.current else None,
                'previous': [asdict(s) for s in self.previous],
                'last_result': self.last_result}

    @classmethod
    def from_json(cls, data: dict | None) -> RobotState:
        if data is None:
            return cls()
        if data.get('format') != STATE_FORMAT:
            raise StateError(f'state.json has unknown format {data.get("format")!r}')
        return cls(current=SlotInfo.from_json(data.get('current')),
                   previous=[SlotInfo.from_json(s) for s in data.get('previous', [])],
                   last_result=data.get('last_result'))


@dataclass
class Journal:
    """The operation in flight. ``step`` is written before the action it names is taken."""

    op: str                      # 'install' or 'rollback'
    step: str
    to_slot: SlotInfo
    from_slot: SlotInfo | None
    boot_id: str
    deferred: bool = False       # install --defer-commit: trial survives one reboot
    trial_boot_id: str | None = None
    started_at: str = field(default_factory=utc_now)
    pid: int = field(default_factory=os.getpid)

    def to_json(self) -> dict:
        data = asdict(self)
        data['to_slot'] = asdict(self.to_slot)
        data['from_slot'] = asdict(self.from_slot) if self.from_slot else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> Journal:
        try:
            return cls(**{**data, 'to_slot': SlotInfo.from_json(data['to_slot']),
                          'from_slot': SlotInfo.from_json(data.get('from_slot'))})
        except (TypeError, KeyError) as exc:
            raise StateError(f'malformed journal.json: {exc}') from exc


# Journal steps of an install, in order. Before 'switching' `current` was never touched.
PRE_SWITCH_STEPS = ('downloading', 'extracting', 'sealed')
DISCARD, ROLL_BACK, ROLL_FORWARD, KEEP_TRIAL, FIRST_TRIAL_BOOT = (
    'discard', 'roll_back', 'roll_forward', 'keep_trial', 'first_trial_boot')


def recovery_action(journal: Journal, *, boot_id: str) -> str:
    """What to do with an operation whose process is gone (the lock was free).

    - not yet switched: ``discard`` the half-made slot; the old release never stopped being
      current;
    - switched but not committed: ``roll_back``; except a deferred trial, which is kept in
      the boot it was installed in and in the first boot after (``first_trial_boot``, so a
      boot-time ``ota commit`` can health-check it), and rolled back on any later boot;
    - health passed (``committing``) or a rollback in flight: ``roll_forward``.
    """
    if journal.op == 'rollback':
        return ROLL_FORWARD
    if journal.step in PRE_SWITCH_STEPS:
        return DISCARD
    if journal.step == 'committing':
        return ROLL_FORWARD
    if journal.step == 'trial' and journal.deferred:
        if boot_id == journal.boot_id or boot_id == journal.trial_boot_id:
            return KEEP_TRIAL
        if journal.trial_boot_id is None:
            return FIRST_TRIAL_BOOT
    return ROLL_BACK


@dataclass(frozen=True)
class RobotConfig:
    """Settings written by ``enroll`` into ``config.json``."""

    repo_url: str
    jetson_model: str
    keep: int = 2
    health_check: str = 'diagnostics'
    health_timeout_s: float = 60.0

    def validate(self) -> None:
        if not self.repo_url.startswith(('http://', 'https://')):
            raise ConfigError(f'repository URL {self.repo_url!r} must be http(s)://')
        if self.keep < 0:
            raise ConfigError('keep must be >= 0 (number of previous slots to keep)')
        if self.health_timeout_s <= 0:
            raise ConfigError('health timeout must be > 0 seconds')


class RobotLayout:
    """Paths inside one robot's OTA state directory, plus its lock."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.slots = self.root / 'slots'
        self.current = self.root / 'current'
        self.state_file = self.root / 'state.json'
        self.journal_file = self.root / 'journal.json'
        self.config_file = self.root / 'config.json'
        self.metadata_dir = self.root / 'tuf'
        self.downloads = self.root / 'downloads'
        self.log_file = self.root / 'ota.log'
        self._lock_fd: int | None = None

    def ensure(self) -> None:
        for path in (self.root, self.slots, self.metadata_dir, self.downloads):
            path.mkdir(parents=True, exist_ok=True)

    def slot_dir(self, slot_id: str) -> Path:
        return self.slots / slot_id

    def staging_dir(self, slot_id: str) -> Path:
        return self.slots / f'.staging-{slot_id}'

    def link_target(self) -> str | None:
        """The slot id ``current`` points to (``None`` if no link)."""
        try:
            return Path(os.readlink(self.current)).name
        except FileNotFoundError:
            return None

    # -- persisted records ------------------------------------------------------------

    def load_config(self) -> RobotConfig:
        data = read_json(self.config_file)
        if data is None:
            raise ConfigError(f'{self.root} is not enrolled: run `jetson-edge ota enroll '
                              '--repo-url URL --trusted-root root.json` first')
        try:
            config = RobotConfig(**data)
        except TypeError as exc:
            raise ConfigError(f'malformed {self.config_file}: {exc}') from exc
        config.validate()
        return config

    def save_config(self, config: RobotConfig) -> None:
        config.validate()
        atomic_write_json(self.config_file, asdict(config))

    def load_state(self) -> RobotState:
        return RobotState.from_json(read_json(self.state_file))

    def save_state(self, state: RobotState) -> None:
        atomic_write_json(self.state_file, state.to_json())

    def load_journal(self) -> Journal | None:
        data = read_json(self.journal_file)
        return None if data is None else Journal.from_json(data)

    def save_journal(self, journal: Journal) -> None:
        atomic_write_json(self.journal_file, journal.to_json())

    def clear_journal(self) -> None:
        self.journal_file.unlink(missing_ok=True)

    # -- lock ---------------------------------------------------------------------------

    def lock(self) -> None:
        """Take the exclusive OTA lock; the kernel drops it if the process dies."""
        self.ensure()
        fd = os.open(self.root / '.lock', os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            holder = os.read(fd, 32).decode(errors='replace').strip() or 'unknown'
            os.close(fd)
            raise StateError(f'another jetson-edge ota command (pid {holder}) is running; '
                             'wait for it to finish') from exc
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> RobotLayout:
        self.lock()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.unlock()
