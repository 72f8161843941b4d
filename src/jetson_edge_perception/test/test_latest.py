"""The rate limiter."""

from jetson_edge_perception.latest import RateLimiter


def test_rate_limiter_admits_at_most_the_rate_and_changes_at_run_time():
    now = [0.0]
    limiter = RateLimiter(10.0, clock=lambda: now[0])
    admitted = 0
    for _ in range(1000):  # 100 Hz for ten seconds
        admitted += limiter.allow()
        now[0] += 0.01
    assert 100 <= admitted <= 101
    exact = RateLimiter(10.0, clock=lambda: now[0])
    jitter = [0.004, -0.004] * 50
    passed = 0
    for dt in jitter:  # a 10 Hz source with +-4 ms jitter keeps every frame
        now[0] += 0.1 + dt
        passed += exact.allow()
    assert passed == 100
    limiter.max_rate_hz = 0
    assert all(limiter.allow() for _ in range(5))
