"""Set-up helpers: what they report when the system refuses (simulated EPERM/ENOMEM, fake /proc and /sys),
and what they do when it allows (in a child process, so this test process is left unchanged)."""
import dataclasses
import errno
import gc
import os
import resource
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jetson_edge_common.realtime import (CAP_IPC_LOCK, CAP_SYS_NICE, SystemFacts, read_system_facts,
                                         set_cpu_affinity, set_realtime_priority)
from jetson_edge_rt import rt_setup
from jetson_edge_rt.rt_setup import check_capabilities, freeze_gc, hold_cpu_dma_latency, lock_memory, set_switch_interval

MIB = 1 << 20
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def _facts(**changes):
    base = SystemFacts(effective_caps=0, rtprio_limit=(0, 0), memlock_limit=(8 * MIB, 8 * MIB), rt_runtime_us=950000,
                       cgroup_rt_runtime_us=None, allowed_cpus=frozenset({0, 1}), isolated_cpus=frozenset(),
                       preempt_rt=False, kernel_version='6.1.0 #1 SMP PREEMPT_DYNAMIC', vm_size_bytes=300 * MIB,
                       vm_locked_bytes=0)
    return dataclasses.replace(base, **changes)


@pytest.fixture
def eperm_scheduler(monkeypatch):
    def refuse(pid, policy, param):
        raise PermissionError(errno.EPERM, 'Operation not permitted')
    monkeypatch.setattr(os, 'sched_setscheduler', refuse)


def test_sched_fifo_refused_names_cap_and_rtprio_limit(eperm_scheduler):
    ok, message = set_realtime_priority(80, facts=_facts())
    assert not ok
    assert 'EPERM' in message and 'CAP_SYS_NICE' in message and 'RLIMIT_RTPRIO is 0 (needs >= 80)' in message
    assert 'ulimit -r 80' in message and 'left SCHED_OTHER' in message


def test_sched_fifo_refused_in_a_container_without_rt_budget(eperm_scheduler):
    ok, message = set_realtime_priority(50, facts=_facts(effective_caps=1 << CAP_SYS_NICE, cgroup_rt_runtime_us=0))
    assert not ok
    assert 'cpu.rt_runtime_us = 0' in message and '--cpu-rt-runtime' in message
    assert 'CAP_SYS_NICE' not in message


def test_sched_fifo_priority_out_of_range_and_zero():
    assert not set_realtime_priority(150).ok
    ok, message = set_realtime_priority(0)
    assert ok and 'SCHED_OTHER' in message


def test_affinity_outside_the_allowed_set():
    ok, message = set_cpu_affinity([5], facts=_facts())
    assert not ok and 'CPU [5] not available' in message and '[0, 1]' in message
    ok, message = set_cpu_affinity([])
    assert ok and 'unchanged' in message


def test_only_a_thread_that_wants_its_cpus_to_itself_is_told_to_isolate_them():
    cpu = min(os.sched_getaffinity(0))
    facts = _facts(allowed_cpus=frozenset(os.sched_getaffinity(0)))
    before = os.sched_getaffinity(0)
    try:
        loop = set_cpu_affinity([cpu], facts=facts)
        companion = set_cpu_affinity([cpu], facts=facts, isolate=False)
    finally:
        os.sched_setaffinity(0, before)
    assert loop.ok and f'isolcpus={cpu}' in loop.message
    assert companion == (True, f'pinned to CPU [{cpu}]')


def test_mlockall_enomem_names_the_memlock_limit(monkeypatch):
    monkeypatch.setattr(rt_setup, '_mlockall', lambda flags: errno.ENOMEM)
    ok, message = lock_memory(prefault_bytes=0, facts=_facts())
    assert not ok
    assert 'ENOMEM' in message and 'CAP_IPC_LOCK' in message and 'RLIMIT_MEMLOCK is 8.0 MiB' in message
    assert '300 MiB' in message and 'ulimit -l unlimited' in message


def test_mlockall_eperm(monkeypatch):
    monkeypatch.setattr(rt_setup, '_mlockall', lambda flags: errno.EPERM)
    ok, message = lock_memory(prefault_bytes=0, facts=_facts(memlock_limit=(0, 0)))
    assert not ok and 'EPERM' in message and 'RLIMIT_MEMLOCK is 0' in message


def test_mlockall_locks_current_and_future_pages_on_fault(monkeypatch):
    seen = []
    monkeypatch.setattr(rt_setup, '_mlockall', lambda flags: seen.append(flags) or errno.ENOMEM)
    lock_memory(prefault_bytes=0, facts=_facts())
    assert seen == [rt_setup.MCL_CURRENT | rt_setup.MCL_FUTURE | rt_setup.MCL_ONFAULT]


def test_a_kernel_without_onfault_gets_everything_locked(monkeypatch):
    seen = []
    monkeypatch.setattr(rt_setup, '_mlockall', lambda flags: seen.append(flags) or (
        errno.EINVAL if flags & rt_setup.MCL_ONFAULT else 0))
    monkeypatch.setattr(rt_setup, '_prefault_heap', lambda nbytes: None)
    monkeypatch.setattr(rt_setup, 'read_system_facts', lambda: _facts())
    ok, message = lock_memory(prefault_bytes=0, facts=_facts())
    assert ok and 'in full (this kernel has no MCL_ONFAULT)' in message
    assert seen == [rt_setup.MCL_CURRENT | rt_setup.MCL_FUTURE | rt_setup.MCL_ONFAULT,
                    rt_setup.MCL_CURRENT | rt_setup.MCL_FUTURE]


def test_capability_report_without_privileges():
    checks = {c.name: c for c in check_capabilities(priority=80, cpus=(3,), facts=_facts())}
    assert set(checks) == {'realtime priority', 'memory locking', 'cpu affinity', 'absolute timer',
                           'kernel preemption'}
    assert not checks['realtime priority'].ok and 'CAP_SYS_NICE' in checks['realtime priority'].message
    assert not checks['memory locking'].ok and 'RLIMIT_MEMLOCK' in checks['memory locking'].message
    assert not checks['cpu affinity'].ok and '[3]' in checks['cpu affinity'].message
    assert checks['kernel preemption'].ok and 'not a PREEMPT_RT' in checks['kernel preemption'].message
    name, ok, message = checks['absolute timer']  # plain (name, ok, message) tuples
    assert isinstance(message, str)


def test_capability_report_with_limits_granted():
    facts = _facts(rtprio_limit=(0, 90), memlock_limit=(resource.RLIM_INFINITY, resource.RLIM_INFINITY),
                   isolated_cpus=frozenset({1}), preempt_rt=True)
    checks = {c.name: c for c in check_capabilities(priority=80, cpus=(1,), facts=facts)}
    assert checks['realtime priority'].ok and 'RLIMIT_RTPRIO 90' in checks['realtime priority'].message
    assert checks['memory locking'].ok and 'unlimited' in checks['memory locking'].message
    assert checks['cpu affinity'].ok and 'isolated' in checks['cpu affinity'].message
    assert 'PREEMPT_RT kernel' in checks['kernel preemption'].message


def test_capability_report_with_caps():
    facts = _facts(effective_caps=(1 << CAP_SYS_NICE) | (1 << CAP_IPC_LOCK))
    checks = {c.name: c for c in check_capabilities(priority=99, facts=facts)}
    assert checks['realtime priority'].ok and checks['memory locking'].ok


def test_system_facts_from_a_proc_and_sys_tree(tmp_path):
    proc, sys_ = tmp_path / 'proc', tmp_path / 'sys'
    (proc / 'self').mkdir(parents=True)
    (proc / 'self' / 'status').write_text('Name:\tpython\nVmSize:\t  204800 kB\nVmLck:\t    1024 kB\n'
                                          'CapEff:\t0000000000800000\n')
    (proc / 'self' / 'cgroup').write_text('4:memory:/x\n1:cpu,cpuacct:/docker/abc\n0::/\n')
    (proc / 'sys' / 'kernel').mkdir(parents=True)
    (proc / 'sys' / 'kernel' / 'sched_rt_runtime_us').write_text('950000\n')
    (sys_ / 'fs' / 'cgroup' / 'cpu' / 'docker' / 'abc').mkdir(parents=True)
    (sys_ / 'fs' / 'cgroup' / 'cpu' / 'docker' / 'abc' / 'cpu.rt_runtime_us').write_text('0\n')
    (sys_ / 'devices' / 'system' / 'cpu').mkdir(parents=True)
    (sys_ / 'devices' / 'system' / 'cpu' / 'isolated').write_text('2-3,5\n')
    (sys_ / 'kernel').mkdir(parents=True)
    (sys_ / 'kernel' / 'realtime').write_text('1\n')
    facts = read_system_facts(proc_root=proc, sys_root=sys_)
    assert facts.has_cap(CAP_SYS_NICE) and not facts.has_cap(CAP_IPC_LOCK)
    assert facts.vm_size_bytes == 200 * MIB and facts.vm_locked_bytes == MIB
    assert facts.cgroup_rt_runtime_us == 0 and facts.rt_runtime_us == 950000
    assert facts.isolated_cpus == {2, 3, 5}
    assert facts.preempt_rt


def test_cpu_dma_latency_request_writes_a_32bit_value(tmp_path):
    target = tmp_path / 'cpu_dma_latency'
    target.write_bytes(b'')
    (ok, message), fd = hold_cpu_dma_latency(7, path=target)
    try:
        assert ok and '<= 7 us' in message
    finally:
        os.close(fd)
    assert target.read_bytes() == (7).to_bytes(4, sys.byteorder)
    (ok, message), fd = hold_cpu_dma_latency(0, path=tmp_path / 'missing')
    assert not ok and fd is None and 'deep CPU idle states stay allowed' in message
    assert hold_cpu_dma_latency(-1)[1] is None


def test_switch_interval_and_gc_freeze_restore():
    before = sys.getswitchinterval()
    try:
        ok, message = set_switch_interval(0.0005)
        assert ok and sys.getswitchinterval() == pytest.approx(0.0005) and '-> 0.50 ms' in message
        assert not set_switch_interval(5.0).ok
    finally:
        sys.setswitchinterval(before)
    try:
        ok, message = freeze_gc(disable=True)
        assert ok and not gc.isenabled() and gc.get_freeze_count() > 0 and 'disabled' in message
    finally:
        gc.unfreeze()
        gc.enable()


def _run_child(code):
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], cwd=PACKAGE_ROOT, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.skipif(not check_capabilities(priority=10)[0].ok, reason='SCHED_FIFO not permitted here')
def test_sched_fifo_and_affinity_really_apply_to_the_calling_thread():
    out = _run_child("""
        import os, threading
        from jetson_edge_common.realtime import set_realtime_priority, set_cpu_affinity
        result = {}
        def worker():
            result['prio'] = set_realtime_priority(10)
            result['cpu'] = set_cpu_affinity([0])
            result['policy'] = os.sched_getscheduler(0)
            result['affinity'] = os.sched_getaffinity(0)
        t = threading.Thread(target=worker); t.start(); t.join()
        print(result['prio'].ok, result['cpu'].ok, result['policy'] == os.SCHED_FIFO, result['affinity'] == {0},
              os.sched_getscheduler(0) == os.SCHED_OTHER)
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ['True'] * 5  # the main thread stays SCHED_OTHER


@pytest.mark.skipif(not check_capabilities()[1].ok, reason='mlockall not permitted here')
def test_lock_memory_really_locks():
    out = _run_child("""
        from jetson_edge_common.realtime import read_system_facts
        from jetson_edge_rt.rt_setup import lock_memory, unlock_memory
        ok, message = lock_memory(prefault_bytes=8 << 20)
        print(ok, read_system_facts().vm_locked_bytes > (8 << 20))
        print(message)
        unlock_memory()
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == 'True True', out.stdout
    assert '8 MiB heap pre-faulted' in out.stdout


@pytest.mark.skipif(not check_capabilities()[1].ok, reason='mlockall not permitted here')
def test_locked_memory_leaves_idle_thread_stacks_out_and_the_loop_stack_in():
    """Ten threads that touch nothing cost their stacks' used pages, not 8 MiB each; a loop's stack top is resident."""
    out = _run_child("""
        import threading
        from jetson_edge_common.realtime import read_system_facts
        from jetson_edge_rt.rt_setup import lock_memory, lock_thread_stack, unlock_memory
        ok, message = lock_memory(prefault_bytes=0)
        before = read_system_facts().vm_rss_bytes
        stop = threading.Event()
        idle = [threading.Thread(target=stop.wait) for _ in range(10)]
        for t in idle:
            t.start()
        idle_growth = read_system_facts().vm_rss_bytes - before
        result = {}
        def loop():
            start = read_system_facts().vm_rss_bytes
            result['stack'] = lock_thread_stack(1 << 20)
            result['growth'] = read_system_facts().vm_rss_bytes - start
        t = threading.Thread(target=loop)
        t.start(); t.join()
        stop.set()
        print(ok, idle_growth < 10 * (1 << 20), result['stack'].ok, result['growth'] >= (1 << 20) - 65536)
        print(message, '|', result['stack'].message)
        unlock_memory()
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == 'True True True True', out.stdout
    assert 'locked as touched' in out.stdout and '1024 KiB of stack locked and resident' in out.stdout


_SETPRIV = shutil.which('setpriv')


@pytest.mark.skipif(_SETPRIV is None or os.geteuid() != 0, reason='needs setpriv and root to drop capabilities')
def test_really_unprivileged_process_gets_the_named_reasons():
    """Not simulated: a child without CAP_SYS_NICE/CAP_IPC_LOCK and with low limits is refused by the kernel."""
    code = ('from jetson_edge_common.realtime import set_realtime_priority\n'
            'from jetson_edge_rt.rt_setup import lock_memory\n'
            'print(repr(set_realtime_priority(80))); print(repr(lock_memory(prefault_bytes=0)))')
    out = subprocess.run([_SETPRIV, '--bounding-set', '-sys_nice,-ipc_lock', '--inh-caps', '-sys_nice,-ipc_lock',
                          'bash', '-c', f'ulimit -l 1024 && ulimit -r 0 && exec {sys.executable} -c "$0"', code],
                         cwd=PACKAGE_ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    prio, memory = out.stdout.splitlines()
    assert 'ok=False' in prio and 'EPERM' in prio and 'no CAP_SYS_NICE and RLIMIT_RTPRIO is 0' in prio
    assert 'ok=False' in memory and 'ENOMEM' in memory and 'RLIMIT_MEMLOCK is 1.0 MiB' in memory
