"""Fault-injection points for crash tests (the failpoint pattern).

``JETSON_EDGE_OTA_FAULT=kill@<step>`` SIGKILLs the process when the installer reaches
``<step>``; ``pause@<step>`` SIGSTOPs it there so a test can look around before killing
it. Unset (always, outside tests) it costs one dictionary lookup per step.
"""

from __future__ import annotations

import logging
import os
import signal

FAULT_ENV = 'JETSON_EDGE_OTA_FAULT'
LOG = logging.getLogger(__name__)

# Every step an install passes, in order; tests kill the process at each one.
INSTALL_STEPS = (
    'downloading',     # half of the bundle received
    'downloaded',      # bundle complete and verified
    'extracting',      # some members written into the staging directory
    'extracted',       # staging directory complete and synced
    'sealed',          # staging renamed to its slot directory
    'switching',       # journal says switching; `current` not yet renamed
    'switched',        # `current` points at the new slot; journal not yet updated
    'trial',           # journal says trial; health check not started
    'health',          # health check running
    'committing',      # health passed, journal says committing; state not yet written
    'committed',       # state written; old slots not yet pruned
    'pruned',          # old slots pruned; journal not yet removed
)


def checkpoint(step: str) -> None:
    """Act on ``JETSON_EDGE_OTA_FAULT`` if it names ``step``."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    action, _, where = spec.partition('@')
    if where != step:
        return
    LOG.warning('fault injection: %s at step %s', action, step)
    for handler in logging.getLogger().handlers + LOG.handlers:
        handler.flush()
    if action == 'kill':
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == 'pause':
        os.kill(os.getpid(), signal.SIGSTOP)
