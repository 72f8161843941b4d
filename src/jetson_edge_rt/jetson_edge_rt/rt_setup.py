"""Process set-up for real-time loops, each step reporting `(ok, message)` instead of raising.

The thread steps, `set_realtime_priority` (SCHED_FIFO) and `set_cpu_affinity`, live in
`jetson_edge_common.realtime`, shared with every node that runs a real-time thread; the loop
thread calls them itself. The steps here act on the whole process: `lock_memory` (mlockall +
pre-faulted heap; `lock_thread_stack` for a loop's own stack), `hold_cpu_dma_latency`, `freeze_gc` and `set_switch_interval`.

Where a step is not permitted the loop still runs, degraded, and the message names what is
missing (RLIMIT_MEMLOCK, CAP_IPC_LOCK) and how to grant it. `check_capabilities` answers the
same questions, SCHED_FIFO and affinity included, without changing anything, for
`jetson-edge doctor`.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import gc
import os
import resource
import sys
from pathlib import Path
from typing import NamedTuple, Sequence

from jetson_edge_common.realtime import (CAP_IPC_LOCK, CAP_SYS_NICE, SetupOutcome, SystemFacts, explain_rt_denied,
                                         limit_allows, limit_str, read_system_facts)

from .clock import libc_clock_nanosleep, clock_resolution_ns

MCL_CURRENT = 1
MCL_FUTURE = 2
MCL_ONFAULT = 4  # Linux 4.4+: lock each page when first touched instead of populating every mapping
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_PAGE = os.sysconf('SC_PAGE_SIZE') if hasattr(os, 'sysconf') else 4096
_MIB = 1 << 20

_MEMLOCK_FIX = ('grant it with `ulimit -l unlimited` (limits.conf: `@realtime - memlock unlimited`), '
                'systemd `LimitMEMLOCK=infinity`, or docker `--ulimit memlock=-1` / `--cap-add=IPC_LOCK`')


class CapabilityCheck(NamedTuple):
    """One line of `check_capabilities`; unpacks as `name, ok, message`."""

    name: str
    ok: bool
    message: str


def _bytes_str(value: int) -> str:
    return 'unlimited' if value == resource.RLIM_INFINITY else f'{value / _MIB:.1f} MiB'


# --- memory locking ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
    libc.pthread_self.restype = ctypes.c_ulong
    libc.mlock.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
    return libc


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


def lock_memory(*, prefault_bytes: int, facts: SystemFacts | None = None) -> SetupOutcome:
    """mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT), then pre-fault `prefault_bytes` of heap.

    Locked memory is never paged out. MCL_ONFAULT locks a page when it is first touched: without
    it, mlockall populates every mapping in full, every thread's 8 MiB stack and every page of
    every library, which held 250 MiB of the executor's 400 MiB that nothing ever reads. What the
    loop does touch is made resident before it runs: the heap here (later allocations reuse
    those pages, malloc trimming off) and the loop thread's stack (`lock_thread_stack`), so the
    loop takes no page faults. A kernel older than 4.4 refuses MCL_ONFAULT (EINVAL); then
    everything is populated, as before. If RLIMIT_MEMLOCK's soft limit is below the hard limit
    it is raised first.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_MEMLOCK, (hard, hard))
        except (OSError, ValueError):
            pass
    flags, how = MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT, 'as touched'
    err = _mlockall(flags)
    if err == errno.EINVAL:
        flags, how = MCL_CURRENT | MCL_FUTURE, 'in full (this kernel has no MCL_ONFAULT)'
        err = _mlockall(flags)
    if err:
        facts = facts or read_system_facts()
        return SetupOutcome(False, f'mlockall(MCL_CURRENT|MCL_FUTURE) failed ({errno.errorcode.get(err, err)}): '
                                   f'{explain_memlock_denied(err, facts)}; memory may be paged out')
    trim_off = _disable_malloc_trim()
    _prefault_heap(prefault_bytes)
    resident = read_system_facts().vm_rss_bytes
    return SetupOutcome(True, f'memory locked {how} ({resident / _MIB:.0f} MiB resident, all of it locked), '
                              f'{prefault_bytes / _MIB:.0f} MiB heap pre-faulted'
                              + ('' if trim_off else ', malloc trimming could not be disabled (not glibc)'))


_PTHREAD_ATTR_BYTES = 128  # larger than pthread_attr_t on every glibc target (56 on x86_64, 64 on aarch64)


def _thread_stack_bounds() -> tuple[int, int]:
    """(lowest address, size) of the calling thread's stack, from pthread_getattr_np."""
    libc = _libc()
    attr = ctypes.create_string_buffer(_PTHREAD_ATTR_BYTES)
    err = libc.pthread_getattr_np(ctypes.c_ulong(libc.pthread_self()), attr)
    if err:
        raise OSError(err, os.strerror(err))
    try:
        low, size = ctypes.c_void_p(), ctypes.c_size_t()
        err = libc.pthread_attr_getstack(attr, ctypes.byref(low), ctypes.byref(size))
        if err:
            raise OSError(err, os.strerror(err))
        return low.value or 0, size.value
    finally:
        libc.pthread_attr_destroy(attr)


def lock_thread_stack(nbytes: int) -> SetupOutcome:
    """Lock and populate the top `nbytes` of the calling thread's stack (mlock), where it grows into.

    With memory locked on fault, the pages a loop first reaches deep in its stack would
    otherwise be faulted in inside a cycle.
    """
    if nbytes <= 0:
        return SetupOutcome(True, 'stack not pre-faulted (0 bytes asked)')
    libc = _libc()
    try:
        low, size = _thread_stack_bounds()
    except OSError as exc:
        return SetupOutcome(False, f'stack bounds unknown ({exc}); its pages are faulted in on first use')
    length = min(nbytes, size) // _PAGE * _PAGE
    if libc.mlock(low + size - length, length) != 0:
        err = ctypes.get_errno()
        return SetupOutcome(False, f'mlock of the stack failed ({errno.errorcode.get(err, err)}); '
                                   'its pages are faulted in on first use')
    return SetupOutcome(True, f'{length >> 10} KiB of stack locked and resident')


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

def check_capabilities(*, priority: int = 80, cpus: Sequence[int] = (), prefault_bytes: int = 16 * _MIB,
                       facts: SystemFacts | None = None) -> list[CapabilityCheck]:
    """What the real-time set-up would get here, without changing anything.

    Returns `(name, ok, message)` per check; `ok` False means that step would run degraded.
    """
    facts = facts or read_system_facts()
    checks = []

    rtprio_hard = facts.rtprio_limit[1]
    rt_ok = (facts.has_cap(CAP_SYS_NICE) or limit_allows(rtprio_hard, priority)) and facts.rt_runtime_us != 0 \
        and facts.cgroup_rt_runtime_us != 0
    if priority == 0:
        checks.append(CapabilityCheck('realtime priority', True, 'not requested (priority 0)'))
    elif rt_ok:
        how = 'CAP_SYS_NICE' if facts.has_cap(CAP_SYS_NICE) else f'RLIMIT_RTPRIO {limit_str(rtprio_hard)}'
        checks.append(CapabilityCheck('realtime priority', True, f'SCHED_FIFO {priority} permitted ({how})'))
    else:
        checks.append(CapabilityCheck('realtime priority', False,
                                      f'SCHED_FIFO {priority} not permitted: {explain_rt_denied(priority, facts)}'))

    memlock_hard = facts.memlock_limit[1]
    if facts.has_cap(CAP_IPC_LOCK) or limit_allows(memlock_hard, facts.vm_size_bytes + prefault_bytes):
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
