"""A fleet instance's share of the request budget, on a virtual clock (no sleeping)."""

from __future__ import annotations

import pytest

from syncd.hemnet.budget import FLEET_RATE_SHARE, SharedBucket
from tests.unit.test_budget import VirtualTime


def shared(rate: float, burst: int) -> tuple[SharedBucket, VirtualTime, list[bool]]:
    t = VirtualTime()
    fresh = [True]
    made = SharedBucket(
        rate, burst, headroom=0, may_spend=lambda: fresh[0], clock=t.clock, sleep=t.sleep
    )
    return made, t, fresh


def test_each_of_n_instances_spends_a_nth_of_the_rate_and_burst() -> None:
    b, t, _ = shared(rate=10, burst=10)
    b.share(2)
    assert sum(b.try_take() for _ in range(10)) == 5  # half the burst
    for _ in range(20):
        assert b.take()
    # 20 tokens at 10/2 per second (less what the fleet keeps unused): over four seconds
    assert t.now == pytest.approx(4.0 / FLEET_RATE_SHARE, abs=0.05)
    b.share(1)  # the other instance died: the whole rate again
    start = t.now
    for _ in range(20):
        assert b.take()
    assert t.now - start == pytest.approx(2.0, abs=0.15)


def test_nothing_is_lent_while_the_leases_are_not_fresh() -> None:
    b, _, fresh = shared(rate=10, burst=10)
    fresh[0] = False
    assert not b.try_take()
    assert not b.take()  # returns at once instead of waiting
    fresh[0] = True
    assert b.try_take()
