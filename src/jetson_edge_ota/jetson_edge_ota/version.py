"""Release version numbers: parse and order ``MAJOR.MINOR.PATCH[-PRERELEASE]``.

Ordering follows semantic versioning: a pre-release sorts before its release,
numeric pre-release identifiers compare as numbers and sort before alphanumeric ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ConfigError

_VERSION_RE = re.compile(
    r'^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*))?$')


@dataclass(frozen=True)
class ReleaseVersion:
    """A parsed release version; instances compare by semantic-versioning precedence."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> ReleaseVersion:
        match = _VERSION_RE.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ConfigError(
                f'invalid release version {text!r}: use MAJOR.MINOR.PATCH, '
                'optionally with a pre-release suffix such as 1.4.0-rc.1')
        pre = tuple(match.group(4).split('.')) if match.group(4) else ()
        return cls(int(match.group(1)), int(match.group(2)), int(match.group(3)), pre)

    def _key(self) -> tuple:
        # A release (no pre-release) ranks above any of its pre-releases.
        pre_key = tuple((0, int(p), '') if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre_key)

    def __lt__(self, other: ReleaseVersion) -> bool:
        return self._key() < other._key()

    def __le__(self, other: ReleaseVersion) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: ReleaseVersion) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: ReleaseVersion) -> bool:
        return self._key() >= other._key()

    def __str__(self) -> str:
        base = f'{self.major}.{self.minor}.{self.patch}'
        return f'{base}-{".".join(self.prerelease)}' if self.prerelease else base
