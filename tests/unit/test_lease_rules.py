"""The fleet's lease rules: who takes which agency when, and the timings' guarantees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncd.core.lease import (
    COORDINATOR,
    Lease,
    LeaseTimings,
    agency_lease,
    fair_share,
    holders,
    lease_agency,
    moves,
)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(seconds=15)
EARLIER = NOW - timedelta(seconds=1)


def held(agency: str, holder: str | None, token: int = 1, expires: datetime = LATER) -> Lease:
    return Lease(agency_lease(agency), holder, token, expires)


def test_a_lone_instance_takes_every_agency_and_the_coordinator() -> None:
    found = moves("a", [], ["x", "y", "z"], ["a"], NOW)
    assert set(found.take) == {agency_lease(k) for k in "xyz"} | {COORDINATOR}
    assert found.release == ()


def test_a_lease_held_by_a_live_instance_is_not_taken() -> None:
    leases = [held("x", "b")]
    found = moves("a", leases, ["x"], ["a", "b"], NOW)
    assert agency_lease("x") not in found.take


def test_an_expired_lease_is_taken_and_a_released_one_too() -> None:
    leases = [held("x", "b", expires=EARLIER), held("y", None)]
    found = moves("a", leases, ["x", "y"], ["a"], NOW)
    assert {agency_lease("x"), agency_lease("y")} <= set(found.take)


def test_the_holder_renews_its_own_leases_even_just_expired() -> None:
    # Nobody took it: its token is unchanged, so renewing is safe.
    leases = [held("x", "a", expires=EARLIER), Lease(COORDINATOR, "a", 3, LATER)]
    found = moves("a", leases, ["x"], ["a"], NOW)
    assert {lease.name for lease in found.renew} == {agency_lease("x"), COORDINATOR}
    assert found.take == ()


def test_an_instance_over_its_share_releases_the_surplus() -> None:
    leases = [held(k, "a") for k in "vwxyz"]
    found = moves("a", leases, list("vwxyz"), ["a", "b"], NOW)
    assert fair_share(5, 2) == 3
    assert len(found.renew) == 3
    assert len(found.release) == 2
    assert [n for n in found.take if n != COORDINATOR] == []


def test_a_new_instance_takes_free_leases_only_while_least_loaded() -> None:
    # b holds one; a holds none, so a may take one free lease, then it is as loaded as b
    # and takes another only while it stays the least loaded (ties allowed).
    leases = [held("w", "b"), held("x", None), held("y", None), held("z", None)]
    found = moves("a", leases, list("wxyz"), ["a", "b"], NOW)
    assert [n for n in found.take if n != COORDINATOR] == [agency_lease("x"), agency_lease("y")]


@given(
    agencies=st.integers(min_value=0, max_value=40),
    instances=st.integers(min_value=1, max_value=6),
)
def test_heartbeats_spread_the_agencies_over_live_instances(agencies: int, instances: int) -> None:
    keys = [f"k{i:02d}" for i in range(agencies)]
    names = [f"i{i}" for i in range(instances)]
    leases: dict[str, Lease] = {}
    for _round in range(agencies + 2):
        for me in names:
            found = moves(me, leases.values(), keys, names, NOW)
            for lease in found.release:
                leases[lease.name] = Lease(lease.name, None, lease.token, NOW)
            for name in found.take:
                before = leases.get(name)
                leases[name] = Lease(name, me, (before.token if before else 0) + 1, LATER)
    load = {me: 0 for me in names}
    for lease in leases.values():
        if lease.name != COORDINATOR:
            assert lease.holder is not None
            load[lease.holder] += 1
    # every agency held, each instance near M/N
    assert sum(load.values()) == agencies
    assert max(load.values()) - min(load.values()) <= 1
    assert sum(1 for lease in leases.values() if lease.name == COORDINATOR) == 1


def test_holders_lists_each_instances_live_agencies() -> None:
    leases = [held("x", "a"), held("y", "b"), held("z", "a", expires=EARLIER)]
    assert holders(leases, NOW) == {"a": ("x",), "b": ("y",)}
    assert lease_agency(COORDINATOR) is None


def test_default_timings_take_over_within_30_seconds_and_stop_before_expiry() -> None:
    timings = LeaseTimings()
    assert timings.takeover_within_s <= 30
    assert timings.act_s < timings.ttl_s
    # a call started just before the holder stopped is over before its ops are read back
    assert timings.margin_s + timings.settle_delay_s >= timings.call_bound_s


def test_timings_that_leave_no_renewal_before_stopping_are_refused() -> None:
    with pytest.raises(ValueError, match="renew_s"):
        LeaseTimings(ttl_s=6, renew_s=3, margin_s=3)
