"""The health check's read of Hemnet is paid from the request budget, on a virtual clock:
it waits a little for its token, and is left out when none comes (Retry-After, a fleet
instance whose leases are stale, the daemon closing)."""

from __future__ import annotations

import pytest

from syncd.hemnet.budget import SharedBucket, TokenBucket
from syncd.runtime.health import PROBE_WAIT_S, probe_paid
from tests.unit.test_budget import VirtualTime


def bucket(rate: float, burst: int) -> tuple[TokenBucket, VirtualTime]:
    t = VirtualTime()
    return TokenBucket(rate, burst, headroom=0, clock=t.clock, sleep=t.sleep), t


def test_the_probe_takes_a_token_the_calls_then_lack() -> None:
    b, t = bucket(rate=2, burst=1)
    assert probe_paid(b, lambda: False, t.clock)
    assert not b.try_take()  # the probe's token is gone from the budget
    assert t.now == 0.0


def test_the_probe_waits_for_its_token_at_the_budget_s_pace() -> None:
    b, t = bucket(rate=2, burst=1)
    assert b.try_take()
    assert probe_paid(b, lambda: False, t.clock)
    assert t.now == pytest.approx(0.5, abs=0.01)


def test_no_probe_in_a_retry_after_pause_and_no_wait_for_it() -> None:
    b, t = bucket(rate=2, burst=1)
    b.pause(30)
    assert not probe_paid(b, lambda: False, t.clock)
    assert t.now == 0.0


def test_no_probe_when_the_next_token_comes_after_the_longest_wait() -> None:
    b, t = bucket(rate=1 / (PROBE_WAIT_S + 1), burst=1)
    assert b.try_take()
    assert not probe_paid(b, lambda: False, t.clock)
    assert t.now == 0.0


def test_no_probe_while_closing_or_while_a_fleet_instance_may_not_spend() -> None:
    b, t = bucket(rate=2, burst=1)
    assert not probe_paid(b, lambda: True, t.clock)
    fresh = [False]
    shared = SharedBucket(
        2, 1, headroom=0, may_spend=lambda: fresh[0], clock=t.clock, sleep=t.sleep
    )
    assert not probe_paid(shared, lambda: False, t.clock)
    fresh[0] = True
    assert probe_paid(shared, lambda: False, t.clock)
