from jetson_edge_bringup.soak_report import (format_report, memory_result, memory_total,
                                             topic_result)


def test_memory_growth_is_measured_after_warmup():
    flat = [(t, 100e6 if t < 10 else 120e6, 60e6) for t in range(0, 100, 2)]
    result = memory_result('lidar', flat, warmup_s=10, restarts=0)
    assert abs(result.growth) < 1e-9 and result.ok  # the warm-up jump is excluded
    leak = [(t, 100e6 + t * 0.2e6, 60e6) for t in range(0, 100, 2)]
    result = memory_result('leaky', leak, warmup_s=10, restarts=0)
    assert result.growth > 0.05 and not result.ok


def test_a_restart_fails_the_process():
    steady = [(t, 50e6, 30e6) for t in range(0, 60, 2)]
    assert not memory_result('imu', steady, warmup_s=0, restarts=1).ok


def test_topic_rate_and_gaps():
    steady = [i * 0.1 for i in range(100)]
    ok = topic_result('/lidar/points', steady, expected_hz=10, start=0, end=10)
    assert ok.ok and 9.5 <= ok.mean_hz <= 10.5
    gap = [t for t in steady if not 3 < t < 5]
    bad = topic_result('/lidar/points', gap, expected_hz=10, start=0, end=10)
    assert not bad.ok and bad.max_gap_s > 1.9


def test_a_fast_topic_may_pause_briefly_but_not_stall():
    stamps = [i * 0.01 for i in range(1000) if not 300 <= i < 312]   # 0.13 s without a message
    assert topic_result('/imu/data', stamps, expected_hz=100, start=0, end=10).ok
    stalled = [i * 0.01 for i in range(1000) if not 300 <= i < 370]  # 0.71 s without a message
    result = topic_result('/imu/data', stalled, expected_hz=100, start=0, end=10)
    assert not result.ok and result.max_gap_s > 0.7


def test_report_lists_everything():
    text = format_report([memory_result('a', [(0, 1e6, 1e6), (1, 1e6, 1e6)], warmup_s=0, restarts=0)],
                         [topic_result('/t', [0.5], expected_hz=1, start=0, end=1)],
                         {'a: link': (2, 'no packets')})
    assert 'a ' in text and '/t' in text and 'ERROR a: link: no packets' in text


def test_report_names_each_process_members_and_compares_with_the_floor_and_the_target():
    mb = 2**20
    light = memory_result('light', [(0, 200 * mb, 150 * mb), (1, 200 * mb, 150 * mb)],
                          warmup_s=0, restarts=0, members=('power_manager', 'viewer'))
    imu = memory_result('imu', [(0, 100 * mb, 60 * mb), (1, 100 * mb, 60 * mb)], warmup_s=0,
                        restarts=0)
    text = format_report([light, imu], [], {}, floor_mb=100.0)
    rows = {line.split()[0]: line.split() for line in text.splitlines()[1:3]}
    assert rows['light'][-2:] == ['2.00', 'power_manager,viewer']
    assert rows['imu'][-2:] == ['1.00', 'imu']   # a node alone is its own member
    assert ('total PSS end 210.0 MB in 2 processes, 0.21 x the target of 1024 MB (met); total '
            'RSS end 300.0 MB (shared pages counted once per process); a bare rclpy node '
            '100.0 MB RSS, the processes 1.50 x as many bare ones') in text
    big = memory_result('perception', [(0, 900 * mb, 880 * mb), (1, 900 * mb, 880 * mb)],
                        warmup_s=0, restarts=0)
    assert '(NOT met)' in memory_total([light, big]), 'the target is on PSS: 1030 MB'
    shared = memory_result('perception', [(0, 900 * mb, 700 * mb), (1, 900 * mb, 700 * mb)],
                           warmup_s=0, restarts=0)
    assert '(met)' in memory_total([light, shared]), 'RSS 1100 MB, PSS 850 MB'
