"""Process and thread set-up for real-time loops, each step reporting `(ok, message)` instead of raising.

Steps and their scope on Linux:

- `set_realtime_priority` (SCHED_FIFO) and `set_cpu_affinity` act on the *calling thread*, so
  the loop thread calls them itself.
- `lock_memory` (mlockall + pre-faulted heap), `hold_cpu_dma_latency`, `freeze_gc` and
  `set_switch_interval` act on the whole process.

Where a step is not permitted the loop still runs, degraded, and the message names what is
missing (CAP_SYS_NICE, RLIMIT_RTPRIO, RLIMIT_MEMLOCK, a cgroup without real-time budget, a CPU
outside the allowed set) and how to grant it. `check_capabilities` answers the same questions
without changing anything, for `jetson-edge doctor`.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import gc
import os
import resource
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

from .clock import libc_clock_nanosleep, clock_resolution_ns

CAP_IPC_LOCK = 14
CAP_SYS_NICE = 23
MCL_CURRENT = 1
MCL_FUTURE = 2
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_PAGE = os.sysconf('SC_PAGE_SIZE') if hasattr(os, 'sysconf') else 4096
_MIB = 1 << 20

_RTPRIO_FIX = ('grant it with `ulimit -r {p}` (limits.conf: `@realtime - rtprio 99`), systemd '
               '`LimitRTPRIO={p}`, or docker `--cap-add=SYS_NICE --ulimit rtprio={p}`')
_MEMLOCK_FIX = ('grant it with `ulimit -l unlimited` (limits.conf: `@realtime - memlock unlimited`), '
                'systemd `LimitMEMLOCK=infinity`, or docker `--ulimit memlock=-1` / `--cap-add=IPC_LOCK`')


class SetupOutcome(NamedTuple):
    """Result of one set-up step; unpacks as `ok, message`."""

    ok: bool
    message: str


class CapabilityCheck(NamedTuple):
    """One line of `check_capabilities`; unpacks as `name, ok, message`."""

    name: str
    ok: bool
    message: str


@dataclass(frozen=True)
class SystemFacts:
    """What the kernel lets this process do, read from /proc and /sys (injectable for tests)."""

    effective_caps: int
    rtprio_limit: tuple[int, int]
    memlock_limit: tuple[int, int]
    rt_runtime_us: int | None
    cgroup_rt_runtime_us: int | None
    allowed_cpus: frozenset[int]
    isolated_cpus: frozenset[int]
    preempt_rt: bool
    kernel_version: str
    vm_size_bytes: int
    vm_locked_bytes: int

    def has_cap(self, cap: int) -> bool:
        return bool(self.effective_caps >> cap & 1)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _parse_cpu_list(text: str | None) -> frozenset[int]:
    cpus: set[int] = set()
    for part in (text or '').strip().split(','):
        if not part:
            continue
        lo, _, hi = part.partition('-')
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return frozenset(cpus)


def _status_field(status: str, key: str) -> str | None:
    for line in status.splitlines():
        if line.startswith(key + ':'):
            return line.split(':', 1)[1].strip()
    return None


def _kib_field(status: str, key: str) -> int:
    value = _status_field(status, key)
    return int(value.split()[0]) * 1024 if value else 0


def _cgroup_rt_runtime(proc_root: Path, sys_root: Path) -> int | None:
    """cgroup v1 `cpu.rt_runtime_us` of this process's cpu cgroup (None on cgroup v2 or unknown)."""
    for line in (_read(proc_root / 'self' / 'cgroup') or '').splitlines():
        _, controllers, path = line.split(':', 2)
        if 'cpu' in controllers.split(','):
            value = _read(sys_root / 'fs' / 'cgroup' / 'cpu' / path.lstrip('/') / 'cpu.rt_runtime_us')
            return int(value) if value and value.strip().lstrip('-').isdigit() else None
    return None


def read_system_facts(*, proc_root: Path = Path('/proc'), sys_root: Path = Path('/sys')) -> SystemFacts:
    status = _read(proc_root / 'self' / 'status') or ''
    caps = _status_field(status, 'CapEff')
    rt_runtime = _read(proc_root / 'sys' / 'kernel' / 'sched_rt_runtime_us')
    version = ' '.join(os.uname()[2:4]) if hasattr(os, 'uname') else ''
    realtime_flag = (_read(sys_root / 'kernel' / 'realtime') or '').strip() == '1'
    allowed = frozenset(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else frozenset()
    return SystemFacts(
        effective_caps=int(caps, 16) if caps else 0,
        rtprio_limit=resource.getrlimit(resource.RLIMIT_RTPRIO),
        memlock_limit=resource.getrlimit(resource.RLIMIT_MEMLOCK),
        rt_runtime_us=int(rt_runtime) if rt_runtime else None,
        cgroup_rt_runtime_us=_cgroup_rt_runtime(proc_root, sys_root),
        allowed_cpus=allowed,
        isolated_cpus=_parse_cpu_list(_read(sys_root / 'devices' / 'system' / 'cpu' / 'isolated')),
        preempt_rt=realtime_flag or 'PREEMPT_RT' in version,
        kernel_version=version,
        vm_size_bytes=_kib_field(status, 'VmSize'),
        vm_locked_bytes=_kib_field(status, 'VmLck'),
    )


def _allows(limit: int, need: int) -> bool:
    return limit == resource.RLIM_INFINITY or limit >= need


def _limit_str(value: int) -> str:
    return 'unlimited' if value == resource.RLIM_INFINITY else str(value)


def _bytes_str(value: int) -> str:
    return 'unlimited' if value == resource.RLIM_INFINITY else f'{value / _MIB:.1f} MiB'


# --- SCHED_FIFO -------------------------------------------------------------------------------

def explain_rt_denied(priority: int, facts: SystemFacts) -> str:
    """Why SCHED_FIFO at `priority` is not permitted, and how to fix it."""
    soft, _ = facts.rtprio_limit
    reasons = []
    if not facts.has_cap(CAP_SYS_NICE) and not _allows(soft, priority):
        reasons.append(f'no CAP_SYS_NICE and RLIMIT_RTPRIO is {_limit_str(soft)} (needs >= {priority}); '
                       + _RTPRIO_FIX.format(p=priority))
    if facts.rt_runtime_us == 0:
        reasons.append('kernel.sched_rt_runtime_us is 0 (no real-time budget); set it to 950000 with sysctl')
    if facts.cgroup_rt_runtime_us == 0:
        reasons.append('this cgroup has cpu.rt_runtime_us = 0 (a container without a real-time budget); '
                       'start it with docker `--cpu-rt-runtime=950000` or run the executor in the root cgroup')
    return '; '.join(reasons) or 'the kernel refused without a reason visible here (check SELinux/AppArmor policy)'


def set_realtime_priority(priority: int, *, facts: SystemFacts | None = None) -> SetupOutcome:
    """Put the calling thread in SCHED_FIFO at `priority` (1-99); 0 means stay SCHED_OTHER.

    If RLIMIT_RTPRIO's soft limit is below `priority` but the hard limit allows it, the soft
    limit is raised first (an unprivileged process may do that).
    """
    if priority == 0:
        return SetupOutcome(True, 'SCHED_OTHER (priority 0 requests no real-time scheduling)')
    high = os.sched_get_priority_max(os.SCHED_FIFO)
    if not 1 <= priority <= high:
        return SetupOutcome(False, f'SCHED_FIFO priority {priority} out of range 1..{high}; thread left SCHED_OTHER')
    soft, hard = resource.getrlimit(resource.RLIMIT_RTPRIO)
    if not _allows(soft, priority) and _allows(hard, priority):
        try:
            resource.setrlimit(resource.RLIMIT_RTPRIO, (priority, hard))
        except (OSError, ValueError):
            pass  # the explanation below reports the limit as it stands
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except OSError as exc:
        facts = facts or read_system_facts()
        return SetupOutcome(False, f'SCHED_FIFO priority {priority} not permitted ({errno.errorcode.get(exc.errno, exc.errno)}): '
                                   f'{explain_rt_denied(priority, facts)}; thread left SCHED_OTHER')
    return SetupOutcome(True, f'SCHED_FIFO priority {priority} on thread {threading.get_native_id()}')


# --- CPU affinity -----------------------------------------------------------------------------

def set_cpu_affinity(cpus: Sequence[int], *, facts: SystemFacts | None = None) -> SetupOutcome:
    """Pin the calling thread to `cpus`; an empty sequence leaves the affinity unchanged."""
    if not cpus:
        return SetupOutcome(True, 'CPU affinity unchanged (no CPU requested)')
    facts = facts or read_system_facts()
    wanted = frozenset(cpus)
    outside = sorted(wanted - facts.allowed_cpus)
    if outside:
        return SetupOutcome(False, f'CPU {outside} not available: this process may use CPUs '
                                   f'{sorted(facts.allowed_cpus)} (cgroup cpuset, taskset or fewer cores on this '
                                   f'model); pick the core from the profile of this Jetson model; affinity unchanged')
    try:
        os.sched_setaffinity(0, wanted)
    except OSError as exc:
        return SetupOutcome(False, f'sched_setaffinity({sorted(wanted)}) failed: {exc}; affinity unchanged')
    note = ('isolated' if wanted <= facts.isolated_cpus else
            f'not isolated: add `isolcpus={",".join(map(str, sorted(wanted)))} nohz_full=...` to the kernel '
            'command line to keep other tasks off it')
    return SetupOutcome(True, f'pinned to CPU {sorted(wanted)} ({note})')


# --- memory locking ---------------------------------------------------------------------------

def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)


def _mlockall(flags: int) -> int:
    """mlockall(flags): 0 on success, else the errno."""
    libc = _libc()
    if libc.mlockall(flags) == 0:
        return 0
    return ctypes.get_errno()


def _disable_malloc_trim() -> bool:
    """Keep freed heap in the process (glibc mallopt) so pre-faulted pages stay mapped and locked."""
    try:
        mallopt = _libc().mallopt
    except AttributeError:
        return False
    return bool(mallopt(_M_TRIM_THRESHOLD, -1) == 1 and mallopt(_M_MMAP_MAX, 0) == 1)


def _prefault_heap(nbytes: int) -> None:
    """Touch `nbytes` of heap page by page, then free it back to malloc (kept, not trimmed)."""
    if nbytes <= 0:
        return
    block = bytearray(nbytes)
    pages = len(range(0, nbytes, _PAGE))
    block[::_PAGE] = b'\x01' * pages
    del block


def explain_memlock_denied(err: int, facts: SystemFacts) -> str:
    soft, _ = facts.memlock_limit
    if err == errno.EPERM:
        return 'no CAP_IPC_LOCK and RLIMIT_MEMLOCK is 0; ' + _MEMLOCK_FIX
    if err == errno.ENOMEM and not facts.has_cap(CAP_IPC_LOCK):
        return (f'no CAP_IPC_LOCK and RLIMIT_MEMLOCK is {_bytes_str(soft)} while the process maps '
                f'{facts.vm_size_bytes / _MIB:.0f} MiB; ' + _MEMLOCK_FIX)
    if err == errno.ENOMEM:
        return 'not enough physical memory to lock the whole process; lower prefault_mb or free memory'
    return os.strerror(err)


def lock_memory(*, prefault_bytes: int = 64 * _MIB, facts: SystemFacts | None = None) -> SetupOutcome:
    """mlockall(MCL_CURRENT | MCL_FUTURE), then pre-fault `prefault_bytes` of heap.

    Locked memory is never paged out; pre-faulting makes later heap allocations reuse pages that
    are already resident, so the loop takes no page faults. If RLIMIT_MEMLOCK's soft limit is
    below the hard limit it is raised first.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_MEMLOCK, (hard, hard))
        except (OSError, ValueError):
            pass
    err = _mlockall(MCL_CURRENT | MCL_FUTURE)
    if err:
        facts = facts or read_system_facts()
        return SetupOutcome(False, f'mlockall(MCL_CURRENT|MCL_FUTURE) failed ({errno.errorcode.get(err, err)}): '
                                   f'{explain_memlock_denied(err, facts)}; memory may be paged out')
    trim_off = _disable_malloc_trim()
    _prefault_heap(prefault_bytes)
    locked = read_system_facts().vm_locked_bytes
    return SetupOutcome(True, f'memory locked ({locked / _MIB:.0f} MiB resident and locked), '
                              f'{prefault_bytes / _MIB:.0f} MiB heap pre-faulted'
                              + ('' if trim_off else ', malloc trimming could not be disabled (not glibc)'))


def unlock_memory() -> None:
    """munlockall(); for tools and tests that locked memory temporarily."""
    _libc().munlockall()


# --- power management, GC, GIL -----------------------------------------------------------------

def hold_cpu_dma_latency(max_us: int, *, path: Path = Path('/dev/cpu_dma_latency')) -> tuple[SetupOutcome, int | None]:
    """Ask the kernel (PM QoS) to keep CPUs out of idle states slower than `max_us` to wake.

    The request lasts while the returned file descriptor stays open; close it to release.
    A negative `max_us` requests nothing.
    """
    if max_us < 0:
        return SetupOutcome(True, 'CPU idle states unrestricted (cpu_dma_latency not requested)'), None
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        return SetupOutcome(False, f'cannot open {path} ({exc.strerror}): deep CPU idle states stay allowed; '
                                   'run as root or grant write access to it'), None
    os.write(fd, int(max_us).to_bytes(4, sys.byteorder, signed=True))
    return SetupOutcome(True, f'CPU wake-up latency held at <= {max_us} us through {path}'), fd


def freeze_gc(*, disable: bool = True) -> SetupOutcome:
    """Collect once, move every live object to the permanent generation, and stop automatic GC.

    Call after start-up (controllers configured, buffers allocated): the frozen objects are never
    scanned again, and with automatic collection off no collection pause can land in a cycle.
    Reference counting still frees acyclic garbage immediately.
    """
    gc.collect()
    gc.freeze()
    if disable:
        gc.disable()
    return SetupOutcome(True, f'{gc.get_freeze_count()} objects frozen; automatic garbage collection '
                              + ('disabled' if disable else 'left enabled'))


def set_switch_interval(seconds: float) -> SetupOutcome:
    """Set how long another thread may hold the GIL before the loop thread, once awake, gets it."""
    if not 0 < seconds <= 1:
        return SetupOutcome(False, f'GIL switch interval {seconds} s out of range (0, 1]; left at '
                                   f'{sys.getswitchinterval() * 1e3:.2f} ms')
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    return SetupOutcome(True, f'GIL switch interval {before * 1e3:.2f} ms -> {sys.getswitchinterval() * 1e3:.2f} ms')


# --- checks for `jetson-edge doctor` -----------------------------------------------------------

def check_capabilities(*, priority: int = 80, cpus: Sequence[int] = (), prefault_bytes: int = 64 * _MIB,
                       facts: SystemFacts | None = None) -> list[CapabilityCheck]:
    """What the real-time set-up would get here, without changing anything.

    Returns `(name, ok, message)` per check; `ok` False means that step would run degraded.
    """
    facts = facts or read_system_facts()
    checks = []

    rtprio_hard = facts.rtprio_limit[1]
    rt_ok = (facts.has_cap(CAP_SYS_NICE) or _allows(rtprio_hard, priority)) and facts.rt_runtime_us != 0 \
        and facts.cgroup_rt_runtime_us != 0
    if priority == 0:
        checks.append(CapabilityCheck('realtime priority', True, 'not requested (priority 0)'))
    elif rt_ok:
        how = 'CAP_SYS_NICE' if facts.has_cap(CAP_SYS_NICE) else f'RLIMIT_RTPRIO {_limit_str(rtprio_hard)}'
        checks.append(CapabilityCheck('realtime priority', True, f'SCHED_FIFO {priority} permitted ({how})'))
    else:
        checks.append(CapabilityCheck('realtime priority', False,
                                      f'SCHED_FIFO {priority} not permitted: {explain_rt_denied(priority, facts)}'))

    memlock_hard = facts.memlock_limit[1]
    if facts.has_cap(CAP_IPC_LOCK) or _allows(memlock_hard, facts.vm_size_bytes + prefault_bytes):
        how = 'CAP_IPC_LOCK' if facts.has_cap(CAP_IPC_LOCK) else f'RLIMIT_MEMLOCK {_bytes_str(memlock_hard)}'
        checks.append(CapabilityCheck('memory locking', True, f'mlockall permitted ({how})'))
    else:
        checks.append(CapabilityCheck('memory locking', False,
                                      f'mlockall would fail: {explain_memlock_denied(errno.ENOMEM, facts)}'))

    wanted = frozenset(cpus)
    if not wanted:
        checks.append(CapabilityCheck('cpu affinity', True, f'no core requested; allowed CPUs '
                                                            f'{sorted(facts.allowed_cpus)}'))
    elif not wanted <= facts.allowed_cpus:
        checks.append(CapabilityCheck('cpu affinity', False, f'CPU {sorted(wanted - facts.allowed_cpus)} not in the '
                                                             f'allowed set {sorted(facts.allowed_cpus)}'))
    else:
        iso = 'isolated' if wanted <= facts.isolated_cpus else (
            f'not isolated (isolated CPUs: {sorted(facts.isolated_cpus) or "none"}); add isolcpus= to the '
            'kernel command line for the best tail latency')
        checks.append(CapabilityCheck('cpu affinity', True, f'CPU {sorted(wanted)} available, {iso}'))

    sleeper = libc_clock_nanosleep()
    res = clock_resolution_ns()
    checks.append(CapabilityCheck(
        'absolute timer', sleeper is not None and res <= 1000,
        f'clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) {"available" if sleeper else "missing in libc"}, '
        f'resolution {res} ns' + ('' if res <= 1000 else ' (no high-resolution timers)')))

    checks.append(CapabilityCheck(
        'kernel preemption', True,
        f'PREEMPT_RT kernel ({facts.kernel_version})' if facts.preempt_rt else
        f'not a PREEMPT_RT kernel ({facts.kernel_version}): fine for development; on the robot install '
        'the L4T real-time kernel (nvidia-l4t-rt-kernel) for bounded tail latency'))
    return checks
