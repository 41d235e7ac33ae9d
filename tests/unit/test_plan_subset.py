"""The planner given only some listings (a dirty pass): each listing it is given is planned
as with every listing, provided every removal asked for is among them and the agencies'
live counts are given (``plan(..., live=...)``). Over the same generated states as the
planner's other properties."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given
from hypothesis import strategies as st

from syncd.core.domain import Desired, KnownListing
from syncd.core.plan import PlanPolicy, plan
from syncd.core.plan.guards import agency_of
from tests.unit.test_plan_properties import KEYS, NOW, PROPERTY, Scenario, scenario_st
from tests.unit.test_plan_rules import KNOWN_AGENCIES, listing, visible


def live_by_agency(known: Mapping[str, KnownListing]) -> dict[str, int]:
    """What the store's aggregate counts: published, not sold, by the agency last sent."""
    live: dict[str, int] = {}
    for have in known.values():
        if have.is_published and have.sold is None:
            live[agency_of(have)] = live.get(agency_of(have), 0) + 1
    return live


def asked_removals(s: Scenario) -> set[str]:
    """What a dirty pass always reads: removals a full export asked for, still live."""
    return {
        key
        for key, have in s.fake.listings.items()
        if key not in s.desired.listings
        and key in s.desired.missing_since
        and have.is_published
        and have.sold is None
    }


@PROPERTY
@given(scenario_st(), st.sets(st.sampled_from(KEYS), max_size=2))
def test_a_plan_of_some_listings_is_the_full_plan_of_those(s: Scenario, some: set[str]) -> None:
    full = plan(s.desired, s.fake.listings, s.fake.agencies, s.policy, NOW)
    keys = some | asked_removals(s)
    desired = Desired(
        listings={k: v for k, v in s.desired.listings.items() if k in keys},
        agencies=s.desired.agencies,
        missing_since={k: v for k, v in s.desired.missing_since.items() if k in keys},
        released_removals=s.desired.released_removals,
        released_updates=s.desired.released_updates,
    )
    known = {k: v for k, v in s.fake.listings.items() if k in keys}
    live = live_by_agency(s.fake.listings)
    part = plan(desired, known, s.fake.agencies, s.policy, NOW, live=live)
    assert [op for op in part.ops if op.listing_key is not None] == [
        op for op in full.ops if op.listing_key in keys
    ]
    assert set(part.holds) == {h for h in full.holds if set(h.listing_keys) <= keys}
    assert list(part.waiting) == [w for w in full.waiting if w.listing_key in keys]
    # An agency is ensured for a listing about to be created: one of the full plan's.
    assert {op for op in part.ops if op.listing_key is None} <= set(full.ops)


def test_a_removal_read_alone_is_judged_against_the_agency_s_live_listings() -> None:
    """One of three live listings missing: within the limit, unpublished; the same plan of
    that one listing holds it without the live counts (it would look like all of them)."""
    policy = PlanPolicy(removal_grace_s=0, mass_removal_share=0.5, mass_removal_min=1)
    every = {key: visible(listing(key)) for key in ("A1", "B1", "C1")}
    gone = {"A1": NOW}
    desired = Desired(
        listings={k: listing(k) for k in ("B1", "C1")}, agencies={}, missing_since=gone
    )
    full = plan(desired, every, KNOWN_AGENCIES, policy, NOW)
    alone = Desired(listings={}, agencies={}, missing_since=gone)
    part = plan(alone, {"A1": every["A1"]}, KNOWN_AGENCIES, policy, NOW, live={"AG1": 3})
    assert [op.kind for op in part.ops] == [op.kind for op in full.ops] == ["unpublish"]
    assert not part.holds and not full.holds
    blind = plan(alone, {"A1": every["A1"]}, KNOWN_AGENCIES, policy, NOW)
    assert blind.holds and not blind.ops
