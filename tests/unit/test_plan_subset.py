"""The planner given only some listings (a dirty pass): each listing it is given is planned
as with every listing, provided every removal asked for is among them and the agencies'
live counts are given (``plan(..., live=...)``). Over the same generated states as the
planner's other properties."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given
from hypothesis import strategies as st

from syncd.core.domain import Desired, KnownListing
from syncd.core.ops import Plan
from syncd.core.plan import PlanPolicy, RemovalCounts, plan
from syncd.core.plan.guards import agency_of
from syncd.usecases.apply.merge import merge_plans
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


def removal_counts(s: Scenario) -> dict[str, RemovalCounts]:
    """What the store counts before a full pass's first chunk: removals asked for, by
    agency, released (confirmed) or not."""
    unconfirmed: dict[str, int] = {}
    confirmed: dict[str, int] = {}
    for key in asked_removals(s):
        released = s.desired.released_removals.get(key) == s.desired.missing_since[key]
        tally = confirmed if released else unconfirmed
        agency = agency_of(s.fake.listings[key])
        tally[agency] = tally.get(agency, 0) + 1
    return {
        a: RemovalCounts(unconfirmed.get(a, 0), confirmed.get(a, 0))
        for a in unconfirmed.keys() | confirmed.keys()
    }


@PROPERTY
@given(scenario_st(), st.integers(min_value=1, max_value=len(KEYS) + 1))
def test_the_plans_of_chunks_merged_are_the_full_plan(s: Scenario, size: int) -> None:
    """A full pass's chunks, each given the whole store's live and removal counts: their
    plans merged are the plan of every listing, holds and their order included."""
    full = plan(s.desired, s.fake.listings, s.fake.agencies, s.policy, NOW)
    every = sorted(set(s.desired.listings) | set(s.desired.missing_since) | set(s.fake.listings))
    live, counts = live_by_agency(s.fake.listings), removal_counts(s)
    parts = []
    for start in range(0, len(every), size):
        keys = set(every[start : start + size])
        desired = Desired(
            listings={k: v for k, v in s.desired.listings.items() if k in keys},
            agencies=s.desired.agencies,
            missing_since={k: v for k, v in s.desired.missing_since.items() if k in keys},
            released_removals=s.desired.released_removals,
            released_updates=s.desired.released_updates,
        )
        known = {k: v for k, v in s.fake.listings.items() if k in keys}
        parts.append(
            plan(desired, known, s.fake.agencies, s.policy, NOW, live=live, removals=counts)
        )
    assert merge_plans(parts) == full


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


def test_chunks_of_one_listing_hold_an_agency_s_removals_together() -> None:
    """Two of three live listings missing, over the limit of one: the plan of every listing
    holds both. Planned one listing at a time with the store's counts, each chunk holds its
    own, and merged they are that one hold; without the counts each would look like one
    removal within the limit, and be sent."""
    policy = PlanPolicy(removal_grace_s=0, mass_removal_share=0.34, mass_removal_min=0)
    every = {key: visible(listing(key)) for key in ("A1", "B1", "C1")}
    gone = {"A1": NOW, "B1": NOW}
    desired = Desired(listings={"C1": listing("C1")}, agencies={}, missing_since=gone)
    full = plan(desired, every, KNOWN_AGENCIES, policy, NOW)
    assert [h.listing_keys for h in full.holds] == [("A1", "B1")] and not full.ops
    counts = {"AG1": RemovalCounts(unconfirmed=2, confirmed=0)}

    def chunk(key: str, removals: dict[str, RemovalCounts] | None) -> Plan:
        alone = Desired(listings={}, agencies={}, missing_since={key: NOW})
        return plan(
            alone,
            {key: every[key]},
            KNOWN_AGENCIES,
            policy,
            NOW,
            live={"AG1": 3},
            removals=removals,
        )

    rest = plan(
        Desired(listings={"C1": listing("C1")}, agencies={}),
        {"C1": every["C1"]},
        KNOWN_AGENCIES,
        policy,
        NOW,
    )
    assert merge_plans([chunk("A1", counts), chunk("B1", counts), rest]) == full
    blind = merge_plans([chunk("A1", None), chunk("B1", None), rest])
    assert [op.kind for op in blind.ops] == ["unpublish", "unpublish"] and not blind.holds
