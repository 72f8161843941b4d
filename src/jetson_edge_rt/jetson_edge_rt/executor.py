"""The executor: process set-up, one thread per periodic loop, each running one controller.

Typical use (the ROS node does exactly this, plus topics):

    control = LoopRunner(LoopConfig(name='control', rate_hz=500, priority=80, cpus=(3,)),
                         balance, output=PublishHandoff(6, publish_command))
    executor = RtExecutor(ProcessConfig(), [control, aux])
    report = executor.start()      # [(name, ok, message)], degraded steps have ok False
    ...
    executor.stop()

Start-up order matters: memory is locked before the loop threads exist (so every page they
touch is locked too, and each loop locks the top of its own stack before its first cycle), the garbage collector is frozen once everything the loops need has been allocated
(controllers configured, buffers made) but before the loops run, and each loop thread sets its own
scheduling class and affinity.
"""
from __future__ import annotations

import gc
import math
import os
import threading
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from jetson_edge_common.diagnostics import Level
from jetson_edge_common.realtime import set_cpu_affinity, set_realtime_priority

from .buffers import PublishHandoff
from .clock import Clock, MonotonicClock
from .controllers.base import Controller
from .errors import ConfigError
from .loop import OverrunPolicy, PeriodicLoop
from .params import EXECUTOR
from .rt_setup import (CapabilityCheck, freeze_gc, hold_cpu_dma_latency, lock_memory, lock_thread_stack,
                       set_switch_interval)
from .timing import TimingRecorder, TimingStats, TimingThresholds, assess

_MIB = 1 << 20
_D = {spec.name: spec.default for spec in EXECUTOR}  # the node's schema: one home of defaults
# A Python loop's C stack stays far below this (the interpreter does not recurse in C for Python
# calls); locked with the memory, it is resident before the first cycle.
LOOP_STACK_BYTES = 256 << 10


@dataclass(frozen=True)
class LoopConfig:
    """One periodic loop: rate, scheduling, overrun policy and the timing window for statistics."""

    name: str = 'control'
    rate_hz: float = 500.0
    priority: int = 80
    cpus: tuple[int, ...] = ()
    overrun_policy: OverrunPolicy = OverrunPolicy.SKIP
    max_catch_up: int = 10
    window_s: float = 5.0
    thresholds: TimingThresholds = field(default_factory=TimingThresholds)
    spin_us: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.rate_hz <= 2000:
            raise ConfigError(f'loop {self.name!r}: rate {self.rate_hz} Hz outside (0, 2000]')
        if not 0 <= self.priority <= 99:
            raise ConfigError(f'loop {self.name!r}: priority {self.priority} outside 0..99 (0 = SCHED_OTHER)')
        if self.window_s <= 0:
            raise ConfigError(f'loop {self.name!r}: timing window must be positive, got {self.window_s} s')
        if not 0 <= self.spin_us * 1e3 < self.period_ns:
            raise ConfigError(f'loop {self.name!r}: spin {self.spin_us} us outside [0, period)')
        object.__setattr__(self, 'overrun_policy', OverrunPolicy(self.overrun_policy))
        object.__setattr__(self, 'cpus', tuple(int(c) for c in self.cpus))

    @property
    def period_ns(self) -> int:
        return round(1e9 / self.rate_hz)

    @property
    def window_cycles(self) -> int:
        return max(1, math.ceil(self.rate_hz * self.window_s))


@dataclass(frozen=True)
class ProcessConfig:
    """Process-wide set-up.

    `cpu_dma_latency_us` 0 keeps the CPUs out of idle states while the executor runs (what
    cyclictest does by default; it halved wake-up latency on our test VM), at a power cost;
    negative leaves idle states alone.

    `companion_priority` is the SCHED_FIFO priority of the threads besides the loops that take
    the GIL: the one that calls `RtExecutor.start` (the node's ROS executor) and the loops'
    publisher threads. A woken loop must take the GIL before it can run a line of Python; if
    its holder is an ordinary thread that another process (inference) has preempted, the loop
    waits until the scheduler gives the holder the CPU back, milliseconds on a busy machine.
    Real-time below the loops, the holder runs and drops the GIL at once. 0 leaves them
    SCHED_OTHER. Where loops are pinned, the companions keep off the loops' cores, as isolcpus=
    would keep them: a companion that ran there would be preempted by the loop it holds the GIL
    for.
    """

    mlock: bool = _D['mlock']
    prefault_mb: int = _D['prefault_mb']
    gc_freeze: bool = _D['gc_freeze']
    switch_interval_us: float = _D['switch_interval_us']
    cpu_dma_latency_us: int = _D['cpu_dma_latency_us']
    companion_priority: int = _D['companion_priority']


class LoopRunner:
    """One controller in one periodic loop on its own thread.

    Thread contract: `start`, `stop` and the status methods from any non-real-time thread; the
    loop thread calls only the controller's `update` and the output's `try_publish`.
    """

    def __init__(self, config: LoopConfig, controller: Controller, *, output: PublishHandoff | None = None,
                 clock: Clock | None = None) -> None:
        self.config = config
        self.controller = controller
        self.recorder = TimingRecorder(config.window_cycles, period_ns=config.period_ns)
        self.command = np.zeros(len(controller.command_names), dtype=np.float64)
        if output is not None and output.size != self.command.size:
            raise ConfigError(f'loop {config.name!r}: output carries {output.size} values but the controller '
                              f'commands {self.command.size}')
        self._output = output
        self._clock = clock or MonotonicClock()
        self._loop = PeriodicLoop(config.period_ns, self._make_step(), clock=self._clock, recorder=self.recorder,
                                  policy=config.overrun_policy, max_catch_up=config.max_catch_up,
                                  spin_ns=round(config.spin_us * 1e3))
        self._thread: threading.Thread | None = None
        self._setup_done = threading.Event()
        self.health = Level.STALE
        self.setup: list[CapabilityCheck] = []
        self.failure: str | None = None
        self.final_publish_error: str | None = None

    def _make_step(self):
        update = self.controller.update
        command = self.command
        try_publish = self._output.try_publish if self._output is not None else None

        def step(now_ns: int, dt_ns: int) -> None:
            self.health = update(now_ns, dt_ns, command)
            if try_publish is not None:
                try_publish(command)
        return step

    def run(self, *, max_cycles: int | None = None, apply_setup: bool = True, lock_stack_bytes: int = 0) -> int:
        """Set up the calling thread, then run the loop until `stop()` or `max_cycles`; returns cycles run."""
        name = self.config.name
        if apply_setup:
            self.setup = [CapabilityCheck(f'{name} loop priority', *set_realtime_priority(self.config.priority)),
                          CapabilityCheck(f'{name} loop cpu affinity', *set_cpu_affinity(self.config.cpus))]
            if lock_stack_bytes:
                self.setup.append(CapabilityCheck(f'{name} loop stack', *lock_thread_stack(lock_stack_bytes)))
        self._setup_done.set()
        self.controller.activate(self._clock.now_ns())
        try:
            return self._loop.run(max_cycles=max_cycles)
        except Exception as exc:  # noqa: BLE001 - reported on diagnostics, output made safe below
            self.failure = f'{type(exc).__name__}: {exc}'
            self.health = Level.ERROR
            return self.recorder.cycles
        finally:
            self.controller.safe_command(self.command)
            if self._output is not None:
                self._output.stop()  # drains the last loop command first, so the safe one is published last
                try:
                    self._output.publish_from_non_rt(self.command)
                except Exception as exc:  # noqa: BLE001 - e.g. the middleware already shut down
                    self.final_publish_error = f'{type(exc).__name__}: {exc}'
            self.controller.deactivate()

    def start(self, *, setup_timeout_s: float = 5.0, lock_stack_bytes: int = 0, output_priority: int = 0,
              output_cpus: Sequence[int] = ()) -> None:
        """Start the loop thread and wait until it has applied its set-up (and locked its stack, if asked).

        The output's publisher thread runs at SCHED_FIFO `output_priority` (0: SCHED_OTHER) on
        `output_cpus` (empty: any).
        """
        if self._thread is not None:
            return
        output_setup = None
        if self._output is not None:
            output_setup = self._output.start(priority=output_priority, cpus=output_cpus, timeout_s=setup_timeout_s)
        self._thread = threading.Thread(target=self.run, kwargs={'lock_stack_bytes': lock_stack_bytes},
                                        name=f'rt-{self.config.name}', daemon=True)
        self._thread.start()
        self._setup_done.wait(setup_timeout_s)
        if output_setup is not None:
            self.setup.append(CapabilityCheck(f'{self.config.name} publisher thread', *output_setup))

    def stop(self, *, timeout_s: float = 2.0) -> None:
        self._loop.stop()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if self._output is not None:
            self._output.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def timing(self) -> TimingStats:
        return self.recorder.snapshot()

    def timing_status(self) -> tuple[Level, str]:
        """The loop's health from timing, or ERROR with the reason if the loop died."""
        if self.failure is not None:
            return Level.ERROR, f'loop stopped by an exception: {self.failure}; output held at the safe command'
        return assess(self.recorder.snapshot(), self.config.thresholds)

    @property
    def dropped_outputs(self) -> int:
        return self._output.dropped if self._output is not None else 0


class RtExecutor:
    """Applies the process set-up and runs the loops; `start` returns every step's (name, ok, message).

    Thread contract: `start` and `stop` from the thread that feeds the loops their inputs (the
    node's ROS executor); from `start` to `stop` it runs at the companion priority, off the loops' cores.
    """

    def __init__(self, process: ProcessConfig, loops: Sequence[LoopRunner]) -> None:
        names = [r.config.name for r in loops]
        if len(set(names)) != len(names):
            raise ConfigError(f'loop names must be unique, got {names}')
        companion = process.companion_priority
        above = [r.config.name for r in loops if 0 < r.config.priority <= companion]
        if above:
            raise ConfigError(f'companion priority {companion} must be below every real-time loop\'s priority '
                              f'(loops {above} are not above it): a companion thread would delay their wake-up')
        self.process = process
        self.loops = list(loops)
        self.setup: list[CapabilityCheck] = []
        self._dma_fd: int | None = None
        self._gc_was_enabled = gc.isenabled()
        self._caller_scheduling: tuple[int, os.sched_param] | None = None
        self._caller_cpus: set[int] | None = None

    def start(self) -> list[CapabilityCheck]:
        p = self.process
        results: list[CapabilityCheck] = []
        if p.mlock:
            results.append(CapabilityCheck('memory lock', *lock_memory(prefault_bytes=p.prefault_mb * _MIB)))
        dma, self._dma_fd = hold_cpu_dma_latency(p.cpu_dma_latency_us)
        results.append(CapabilityCheck('cpu idle states', *dma))
        results.append(CapabilityCheck('gil switch interval', *set_switch_interval(p.switch_interval_us / 1e6)))
        if p.gc_freeze:
            # Before the loops start: the full collection here would otherwise hold the GIL for
            # milliseconds while they run. What the threads allocate afterwards is freed by
            # reference counting.
            results.append(CapabilityCheck('garbage collector', *freeze_gc(disable=True)))
        allowed = os.sched_getaffinity(0)
        loop_cpus = {cpu for runner in self.loops for cpu in runner.config.cpus}
        companion_cpus = sorted(allowed - loop_cpus) if loop_cpus and allowed - loop_cpus else []
        for runner in self.loops:
            runner.start(lock_stack_bytes=LOOP_STACK_BYTES if p.mlock else 0, output_priority=p.companion_priority,
                         output_cpus=companion_cpus)
            results.extend(runner.setup)
        # After the loop threads exist, so they do not inherit these before setting their own.
        previous = os.sched_getscheduler(0), os.sched_getparam(0)
        caller = set_realtime_priority(p.companion_priority)
        if caller.ok and p.companion_priority:
            self._caller_scheduling = previous
        results.append(CapabilityCheck('executor thread priority', *caller))
        pinned = set_cpu_affinity(companion_cpus, isolate=False)
        if pinned.ok and companion_cpus:
            self._caller_cpus = allowed
        results.append(CapabilityCheck('executor thread cpu affinity', *pinned))
        self.setup = results
        return results

    def stop(self) -> None:
        """Stop the loops; called from the thread that called `start`, whose scheduling it restores."""
        for runner in self.loops:
            runner.stop()
        if self._caller_scheduling is not None:
            os.sched_setscheduler(0, *self._caller_scheduling)
            self._caller_scheduling = None
        if self._caller_cpus is not None:
            os.sched_setaffinity(0, self._caller_cpus)
            self._caller_cpus = None
        if self._dma_fd is not None:
            os.close(self._dma_fd)
            self._dma_fd = None
        if self.process.gc_freeze:
            gc.unfreeze()
            if self._gc_was_enabled:
                gc.enable()

    @property
    def degraded(self) -> list[CapabilityCheck]:
        return [c for c in self.setup if not c.ok]

    def __enter__(self) -> RtExecutor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
