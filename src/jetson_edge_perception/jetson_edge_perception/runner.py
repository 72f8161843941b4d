"""Backend choice and hot switching: serve from the best backend that works now, upgrade when TensorRT is ready.

`open_runner(card, order=...)` walks the backend order (the profile's, else the card's). A backend
whose library is missing or whose model fails to load is skipped with its reason logged. TensorRT
without a cached engine for the current key is not waited for: its build starts in a background
thread, the next backend in the order serves, and the runner switches to TensorRT on the first
`infer` after the build finished (the switch, engine deserialization included, happens in the
inferring thread, which owns the CUDA context). Every decision goes through `log`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from .backends import Backend, BackendOptions, create_backend
from .errors import BackendError, BackendUnavailableError, EngineBuildPending, PerceptionError
from .model_card import ModelCard

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """One backend considered: its name, what happened (`serving`, `building`, `skipped`, `failed`), and why."""

    backend: str
    outcome: str
    reason: str


class BackgroundBuild:
    """A TensorRT engine build running in a daemon thread; `done`/`error` are read by the inferring thread."""

    def __init__(self, backend: Backend, log: Callable[[str], None]) -> None:
        self.backend = backend
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._log = log
        self._started = time.monotonic()
        self.thread = threading.Thread(target=self._run, name=f'{backend.card.name}-engine-build', daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.backend.engine_path(build=True)  # type: ignore[attr-defined]
        except BaseException as exc:  # reported to the inferring thread, never lost
            self.error = exc
        finally:
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._started


class SwitchingRunner:
    """Presents one backend to the pipeline and swaps in a better one when its background build completes.

    Thread contract: `infer`, `input_name`, `description` and `close` are called from the one inference
    thread; only the build thread runs concurrently, and it touches nothing but its own backend.
    """

    def __init__(self, card: ModelCard, current: Backend | None, attempts: list[Attempt], *,
                 pending: BackgroundBuild | None = None, log: Callable[[str], None] = _LOG.info) -> None:
        self.card = card
        self.current = current
        self.attempts = attempts
        self.pending = pending
        self.switches = 0
        self._log = log

    @property
    def runs_own_pipeline(self) -> bool:
        return bool(self.current and self.current.runs_own_pipeline)

    @property
    def backend_name(self) -> str:
        return self.current.name if self.current else 'none'

    @property
    def input_name(self) -> str:
        self._maybe_switch()
        if self.current is None:
            raise self._none_serves()
        return self.current.input_name

    @property
    def description(self) -> str:
        text = self.current.description if self.current else 'none'
        if self.pending is not None and not self.pending.done:
            text += ' (TensorRT engine building)'
        return text

    def _maybe_switch(self) -> None:
        pending = self.pending
        if pending is None or not pending.done:
            return
        self.pending = None
        if pending.error is not None:
            self._log(f'{self.card.name}: TensorRT engine build failed, staying on {self.backend_name}: {pending.error}')
            self.attempts.append(Attempt('tensorrt', 'failed', str(pending.error)))
            return
        try:
            pending.backend.activate()
        except PerceptionError as exc:
            self._log(f'{self.card.name}: TensorRT engine built but does not load, staying on {self.backend_name}: {exc}')
            self.attempts.append(Attempt('tensorrt', 'failed', str(exc)))
            return
        old, self.current = self.current, pending.backend
        self.switches += 1
        self._log(f'{self.card.name}: switched from {old.description if old else "nothing"} to {self.current.description}')
        if old is not None:
            old.close()

    def run_image(self, rgb: np.ndarray, **kwargs: object) -> object:
        self._maybe_switch()
        return self.current.run_image(rgb, **kwargs)  # type: ignore[union-attr]

    def infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        self._maybe_switch()
        if self.current is None:
            raise self._none_serves()
        return self.current.infer(feed)

    def _none_serves(self) -> PerceptionError:
        if self.pending is not None:
            return EngineBuildPending(f'{self.card.name}: no backend serves while the TensorRT engine builds')
        detail = '; '.join(f'{a.backend} {a.outcome}: {a.reason}' for a in self.attempts)
        return BackendError(f'{self.card.name}: no backend serves ({detail})')

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None

    def __enter__(self) -> 'SwitchingRunner':
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_runner(card: ModelCard, *, order: Sequence[str] | None = None, options: BackendOptions | None = None,
                background_build: bool = True, log: Callable[[str], None] = _LOG.info) -> SwitchingRunner:
    """Activate the first backend of `order` (default: the card's) that works; see the module docstring.

    Raises BackendError listing every attempt when none can serve and no build is pending.
    """
    options = options or BackendOptions()
    names = [n for n in (order or card.backends) if n in card.backends] or list(card.backends)
    attempts: list[Attempt] = []
    pending: BackgroundBuild | None = None
    current: Backend | None = None
    for name in names:
        backend = create_backend(name, card, options=options)
        ok, why = backend.available()
        if not ok:
            attempts.append(Attempt(name, 'skipped', why))
            log(f'{card.name}: backend {name} skipped: {why}')
            continue
        try:
            if name == 'tensorrt' and background_build and pending is None:
                if backend.engine_path(build=False) is None:  # type: ignore[attr-defined]
                    pending = BackgroundBuild(backend, log)
                    attempts.append(Attempt(name, 'building', 'no cached engine for this key; building in background'))
                    log(f'{card.name}: TensorRT engine not cached; building in the background, serving from the next backend')
                    continue
            backend.activate()
        except (BackendUnavailableError, BackendError) as exc:
            attempts.append(Attempt(name, 'failed', str(exc)))
            log(f'{card.name}: backend {name} failed: {exc}')
            continue
        attempts.append(Attempt(name, 'serving', backend.description))
        log(f'{card.name}: serving on {backend.description}')
        current = backend
        break
    if current is None and pending is None:
        detail = '; '.join(f'{a.backend}: {a.reason}' for a in attempts)
        raise BackendError(f'{card.name}: no backend can run this model ({detail})')
    return SwitchingRunner(card, current, attempts, pending=pending, log=log)
