"""A burst of one has no token to spare: the budget keeps its headroom in time instead, so
a call a few milliseconds late followed by one on time draws no 429 (virtual time)."""

from __future__ import annotations

from syncd.hemnet.budget import TokenBucket
from syncd.sandbox.ratelimit import TokenBucket as HemnetBucket
from tests.unit.test_budget_headroom import VirtualTime


def refused_at_burst_one(late_s: float, *, headroom: int = 2) -> int:
    """Calls Hemnet's bucket (R = 4, burst 1) refuses when every other call reaches it
    ``late_s`` after its token was taken and the rest at once."""
    rate = 4.0
    t = VirtualTime()
    budget = TokenBucket(rate, 1, headroom=headroom, clock=t.clock, sleep=t.sleep)
    arrivals = []
    for n in range(100):
        assert budget.take()
        arrivals.append(t.now + (late_s if n % 2 == 0 else 0.0))
    hemnet_time = VirtualTime()
    hemnet_time.now = arrivals[0]
    hemnet = HemnetBucket(rate, 1, now=hemnet_time.clock)
    refused = 0
    for arrival in arrivals:
        hemnet_time.now = arrival
        refused += hemnet.take() > 0
    return refused


def test_a_call_5_ms_late_then_one_on_time_stay_within_a_burst_of_one() -> None:
    assert refused_at_burst_one(0.005, headroom=0) > 0  # the rate alone: no time to spare
    assert refused_at_burst_one(0.005) == 0
    assert refused_at_burst_one(0.0) == 0


def test_a_burst_with_a_token_to_spare_keeps_the_full_rate() -> None:
    t = VirtualTime()
    budget = TokenBucket(4.0, 2, clock=t.clock, sleep=t.sleep)
    for _ in range(41):
        assert budget.take()
    assert abs(t.now - 10.0) < 0.01  # 40 intervals of 1/4 s after the first token
