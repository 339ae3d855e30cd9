"""The rate limiter on a simulated clock: steady flow, and no one-second window over the cap."""

from __future__ import annotations

from bisect import bisect_right

import pytest

from clicksms.bulk.ratelimit import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


def busiest_window(times: list[float]) -> int:
    return max(bisect_right(times, t + 1.0 - 1e-9) - i for i, t in enumerate(times))


@pytest.mark.parametrize(("rate", "batch"), [(100, 5), (100, 1), (10, 2), (1000, 50)])
def test_steady_rate_never_above_the_cap(rate: int, batch: int) -> None:
    fake = FakeTime()
    limiter = RateLimiter(rate, clock=fake.clock, sleep=fake.sleep)
    start = fake.now
    times: list[float] = []
    for _ in range(2000 // batch):
        assert limiter.acquire(batch)
        times += [fake.now] * batch
    sustained = len(times) / (fake.now - start + batch / rate)
    assert 0.95 * rate <= sustained <= rate
    assert busiest_window(times) <= rate


def test_batch_size_is_a_twentieth_of_the_rate() -> None:
    assert RateLimiter(100).batch_size(300) == 5
    assert RateLimiter(10).batch_size(300) == 1
    assert RateLimiter(100000).batch_size(300) == 300


def test_waiting_stops_when_asked() -> None:
    fake = FakeTime()
    limiter = RateLimiter(10, clock=fake.clock, sleep=fake.sleep)
    assert limiter.acquire(10)
    asked = []
    assert not limiter.acquire(10, should_stop=lambda: asked.append(1) or len(asked) > 2)
    assert fake.now - 1000.0 < 1.0


def test_a_batch_larger_than_the_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="can never fit"):
        RateLimiter(10).acquire(11)
