"""Real-time scheduling of the calling thread, each step reporting ``(ok, message)`` instead of raising.

`set_realtime_priority` (SCHED_FIFO) and `set_cpu_affinity` act on the *calling thread*, so a
loop or reader thread calls them itself. Where a step is not permitted the thread still runs,
degraded, and the message names what is missing (CAP_SYS_NICE, RLIMIT_RTPRIO, a cgroup without
real-time budget, a CPU outside the allowed set) and how to grant it. `read_system_facts` reads
what the kernel allows, for these messages and for `jetson-edge doctor`.
"""
from __future__ import annotations

import errno
import os
import resource
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

CAP_IPC_LOCK = 14
CAP_SYS_NICE = 23

_RTPRIO_FIX = ('grant it with `ulimit -r {p}` (limits.conf: `@realtime - rtprio 99`), systemd '
               '`LimitRTPRIO={p}`, or docker `--cap-add=SYS_NICE --ulimit rtprio={p}`')


class SetupOutcome(NamedTuple):
    """Result of one set-up step; unpacks as `ok, message`."""

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
    vm_locked_bytes: int  # the size of the locked mappings, touched or not
    vm_rss_bytes: int = 0

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
        vm_rss_bytes=_kib_field(status, 'VmRSS'),
    )


def limit_allows(limit: int, need: int) -> bool:
    """Whether an rlimit value permits `need`."""
    return limit == resource.RLIM_INFINITY or limit >= need


def limit_str(value: int) -> str:
    return 'unlimited' if value == resource.RLIM_INFINITY else str(value)


# --- SCHED_FIFO -------------------------------------------------------------------------------

def explain_rt_denied(priority: int, facts: SystemFacts) -> str:
    """Why SCHED_FIFO at `priority` is not permitted, and how to fix it."""
    soft, _ = facts.rtprio_limit
    reasons = []
    if not facts.has_cap(CAP_SYS_NICE) and not limit_allows(soft, priority):
        reasons.append(f'no CAP_SYS_NICE and RLIMIT_RTPRIO is {limit_str(soft)} (needs >= {priority}); '
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
    if not limit_allows(soft, priority) and limit_allows(hard, priority):
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

def set_cpu_affinity(cpus: Sequence[int], *, facts: SystemFacts | None = None,
                     isolate: bool = True) -> SetupOutcome:
    """Pin the calling thread to `cpus`; an empty sequence leaves the affinity unchanged.
    `isolate`: the thread wants those CPUs to itself (a real-time loop), so the outcome says
    whether the kernel keeps other tasks off them; a thread merely kept off other CPUs (a
    loop's companion) passes False."""
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
    if not isolate:
        return SetupOutcome(True, f'pinned to CPU {sorted(wanted)}')
    note = ('isolated' if wanted <= facts.isolated_cpus else
            f'not isolated: add `isolcpus={",".join(map(str, sorted(wanted)))} nohz_full=...` to the kernel '
            'command line to keep other tasks off it')
    return SetupOutcome(True, f'pinned to CPU {sorted(wanted)} ({note})')
