"""Where a board's layout comes from: a profile's ``hardware:`` section, or a layout file of
the same shape (a custom carrier board), resolved for the JetPack release the board runs.

The facts themselves live only in the profiles (``config/profiles``). Some change with the
release: the Orin Nano's and Orin NX's nvpmodel ids moved in JetPack 6.2 (L4T 36.4.3), so
their profiles carry ``jetpack_variants``, each replacing sections of the layout on releases
older than its ``l4t_below``. The release is read from ``etc/nv_tegra_release`` or, failing
that, the ``nvidia-l4t-core`` package's version in dpkg's status file, both under ``root``;
where neither can be read, the profile's own sections apply and a log line says so.
"""

from __future__ import annotations

import copy
import logging
import re
from pathlib import Path
from typing import Any

import yaml

from jetson_edge_power.errors import LayoutError
from jetson_edge_power.layout import Layout, layout_from_dict

_LOG = logging.getLogger(__name__)

Release = tuple[int, ...]


def _version(text: str) -> Release:
    return tuple(int(part) for part in re.findall(r'\d+', text)[:3])


def read_l4t_release(root: str | Path = '/') -> Release | None:
    """The L4T release under ``root`` as (major, minor, patch), or None where none is readable."""
    root = Path(root)
    try:
        first = (root / 'etc/nv_tegra_release').read_text(errors='replace').splitlines()[0]
        match = re.search(r'R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)', first)
        if match:
            return _version(f'{match[1]}.{match[2]}')
    except (OSError, IndexError):
        pass
    try:
        status = (root / 'var/lib/dpkg/status').read_text(errors='replace')
    except OSError:
        return None
    for stanza in status.split('\n\n'):
        if re.search(r'^Package: nvidia-l4t-core$', stanza, re.M):
            match = re.search(r'^Version: ([\d.]+)', stanza, re.M)
            if match:
                return _version(match[1])
    return None


def for_release(hardware: dict[str, Any], release: Release | None, *,
                logger: logging.Logger | None = None) -> dict[str, Any]:
    """``hardware`` with the sections of the variant for ``release`` in place, variants removed."""
    log = logger or _LOG
    resolved = copy.deepcopy(dict(hardware))
    variants = resolved.pop('jetpack_variants', None) or []
    if not variants:
        return resolved
    model = resolved.get('model', 'this board')
    if release is None:
        # one formatted string: the logger may be rclpy's, which takes no arguments
        log.info(f'layout {model}: L4T release unreadable (no etc/nv_tegra_release, no '
                 f'nvidia-l4t-core in dpkg); using the profile\'s default sections '
                 f'({resolved.get("jetpack", "newest release")})')
        return resolved
    for variant in sorted(variants, key=lambda v: _version(str(v['l4t_below']))):
        if release < _version(str(variant['l4t_below'])):
            sections = {k: v for k, v in variant.items() if k not in ('l4t_below', 'description')}
            log.info(f'layout {model}: L4T {".".join(map(str, release))} is below '
                     f'{variant["l4t_below"]}, using the variant for '
                     f'{variant.get("description", "that release")}')
            resolved.update(copy.deepcopy(sections))
            return resolved
    return resolved


def read_hardware(source: str, *, root: str | Path = '/',
                  logger: logging.Logger | None = None) -> dict[str, Any]:
    """The hardware section named by ``source`` (a profile name, or the path of a layout file
    shaped as a profile's ``hardware:`` section), resolved for the release found under ``root``."""
    if source.endswith(('.yaml', '.yml')) or '/' in source:
        try:
            data = yaml.safe_load(Path(source).read_text(encoding='utf-8'))
        except (OSError, yaml.YAMLError) as exc:
            raise LayoutError(f'cannot read layout file {source}: {exc}') from exc
    else:
        from jetson_edge_common.profiles import ProfileError, load_profile
        try:
            data = load_profile(source, check_parameters=False).hardware
        except ProfileError as exc:
            raise LayoutError(str(exc)) from exc
    if not isinstance(data, dict):
        raise LayoutError(f'{source}: a layout must be a mapping shaped as a profile\'s hardware: '
                          f'section, got {type(data).__name__}')
    return for_release(data, read_l4t_release(root), logger=logger)


def layout_of(source: str, *, root: str | Path = '/',
              logger: logging.Logger | None = None) -> tuple[Layout, list[str]]:
    """The :class:`Layout` of a profile or layout file (see :func:`read_hardware`), with the
    problems worked around."""
    return layout_from_dict(read_hardware(source, root=root, logger=logger), logger=logger)
