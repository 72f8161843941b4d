"""The benchmark's parsing and arithmetic (the measured runs themselves are `jetson-edge bench rt`)."""
import numpy as np
import pytest

from jetson_edge_bench.rt import parse_cyclictest_histogram, pool, summarize
from jetson_edge_common.stall_monitor import Stalls

# cyclictest 2.4 `-q -h 5` output layout (bins in us, then per-thread summary lines)
CYCLICTEST_OUT = """# /dev/cpu_dma_latency set to 0us
# Histogram
000000 000000
000001 000000
000002 000003
000003 000005
000004 000001
# Total: 000000011
# Min Latencies: 00002
# Avg Latencies: 00003
# Max Latencies: 00250
# Histogram Overflows: 00002
# Histogram Overflow at cycle number:
# Thread 0: 00006 00009
"""


def test_cyclictest_histogram_becomes_samples_with_overflows_at_the_max():
    samples, max_us = parse_cyclictest_histogram(CYCLICTEST_OUT)
    assert max_us == 250
    assert sorted(samples.tolist()) == [2000] * 3 + [3000] * 5 + [4000] + [250_000] * 2


def test_output_without_histogram_is_an_error():
    with pytest.raises(ValueError, match='no histogram'):
        parse_cyclictest_histogram('T: 0 (123) P:80 I:2000 C: 10 Min: 1 Act: 2 Avg: 3 Max: 4\n')


def test_summary_counts_deadline_misses_and_rate():
    period = 2_000_000
    latency = np.array([10_000, 20_000, 1_990_000, 2_500_000], dtype=np.int64)
    exec_ns = np.array([5_000, 5_000, 20_000, 0], dtype=np.int64)
    s = summarize({'latency_ns': latency, 'exec_ns': exec_ns, 'elapsed_s': 0.008, 'overruns': 2}, period)
    assert s['deadline_misses'] == 2
    assert s['max_us'] == 2500.0 and s['p50_us'] == 1990.0
    assert s['rate_hz'] == pytest.approx(500.0)
    assert s['loop_overruns'] == 2


def test_rounds_pool_into_one_run_with_their_spread():
    quiet = {'latency_ns': np.full(100, 10_000), 'exec_ns': np.full(100, 1_000), 'elapsed_s': 0.2,
             'overruns': 0, 'host_stalls': Stalls(0, 0.0, 0.0, 50)}
    noisy = {'latency_ns': np.full(100, 30_000), 'exec_ns': np.full(100, 1_000), 'elapsed_s': 0.2,
             'overruns': 2, 'host_stalls': Stalls(1, 0.004, 0.004, 50)}
    pooled = pool([quiet, noisy])
    assert pooled['latency_ns'].size == 200 and pooled['elapsed_s'] == 0.4
    assert pooled['overruns'] == 2 and pooled['host_stalls'] == Stalls(1, 0.004, 0.004, 100)
    assert pooled['round_p99_us'] == [10.0, 30.0]
    # cyclictest reports no overruns: the pooled run does not invent any.
    assert pool([{**quiet, 'overruns': None}, noisy])['overruns'] is None
