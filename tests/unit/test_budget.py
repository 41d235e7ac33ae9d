"""The request budget and backoff, on a virtual clock (no sleeping)."""

from __future__ import annotations

import pytest

from syncd.hemnet.budget import Backoff, TokenBucket


class VirtualTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def bucket(rate: float, burst: int, headroom: int = 0) -> tuple[TokenBucket, VirtualTime]:
    t = VirtualTime()
    return TokenBucket(rate, burst, headroom=headroom, clock=t.clock, sleep=t.sleep), t


def test_burst_is_free_then_rate_limits() -> None:
    b, t = bucket(rate=10, burst=5)
    for _ in range(5):
        assert b.try_take()
    assert not b.try_take()
    for _ in range(20):
        assert b.take()
    # 20 more tokens at 10/s take about two seconds of (virtual) time
    assert t.now == pytest.approx(2.0, abs=0.05)


def test_refill_never_exceeds_burst() -> None:
    b, t = bucket(rate=100, burst=3)
    t.now = 1000.0
    taken = sum(b.try_take() for _ in range(10))
    assert taken == 3


def test_pause_stops_lending_for_everyone_until_retry_after() -> None:
    b, t = bucket(rate=10, burst=10)
    b.pause(1.5)
    assert not b.try_take()
    t.now = 1.4
    assert not b.try_take()
    assert b.take()
    assert t.now >= 1.5  # nothing before Retry-After, and the bucket starts from empty


def test_take_gives_up_when_stopped() -> None:
    b, _ = bucket(rate=1, burst=1)
    assert b.take()
    assert not b.take(should_stop=lambda: True)


def test_invalid_bucket_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0, 1)


def test_backoff_grows_exponentially_within_jitter_and_cap() -> None:
    backoff = Backoff(base_s=2, cap_s=60)
    low = [backoff.delay_s(n, rand=lambda: 0.0) for n in range(1, 8)]
    high = [backoff.delay_s(n, rand=lambda: 1.0) for n in range(1, 8)]
    assert low == [1, 2, 4, 8, 16, 30, 30]
    assert high == [2, 4, 8, 16, 32, 60, 60]


def test_backoff_honours_retry_after() -> None:
    assert Backoff(base_s=1).delay_s(1, retry_after_s=30, rand=lambda: 1.0) == 30
