"""The suspicious-update guard: an update that would blank a published listing is held."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from syncd.core.domain import Broker, Desired, KnownListing, Listing, ListingStatus, content_hash
from syncd.core.ops import Plan, UpdateListing
from syncd.core.plan import plan
from tests.unit.test_plan_rules import AGENCY, KNOWN_AGENCIES, NOW, POLICY, known, listing, visible

FILLED = listing(
    title="Villa vid sjön",
    description="Stor villa med sjöutsikt.",
    broker=Broker(name="Anna Mäklare", email="anna@example.se"),
)
# What a default street turned a status-only record into: everything else gone.
BLANK = dataclasses.replace(FILLED, title=None, description=None, broker=None, images=())


def run(want: Listing, have: KnownListing, released: Mapping[str, str] | None = None) -> Plan:
    desired = Desired(
        listings={"A1": want}, agencies={"AG1": AGENCY}, released_updates=released or {}
    )
    return plan(desired, {"A1": have}, KNOWN_AGENCIES, POLICY, NOW)


def test_an_update_that_blanks_a_published_listing_is_held_and_sends_nothing() -> None:
    result = run(BLANK, visible(FILLED))
    assert result.ops == ()
    (hold,) = result.holds
    assert hold.listing_keys == ("A1",) and hold.agency_key == "AG1"
    assert "clear 3 filled field(s) (broker, description, title)" in hold.reason
    assert "delete all 2 image(s)" in hold.reason
    assert any("held" in w.reason for w in result.waiting)


def test_deleting_every_image_alone_is_held() -> None:
    result = run(dataclasses.replace(FILLED, images=()), visible(FILLED))
    assert result.ops == ()
    (hold,) = result.holds
    assert "delete all 2 image(s)" in hold.reason and "clear" not in hold.reason


def test_clearing_one_field_is_an_ordinary_update() -> None:
    result = run(dataclasses.replace(FILLED, description=None), visible(FILLED))
    assert result.holds == ()
    (update,) = [op for op in result.ops if isinstance(op, UpdateListing)]
    assert update.changed == ("description",)


def test_an_unpublished_listing_is_not_guarded() -> None:
    result = run(BLANK, known(FILLED))
    assert result.holds == ()
    assert any(isinstance(op, UpdateListing) for op in result.ops)


def test_a_withdrawal_is_never_held_by_it() -> None:
    result = run(dataclasses.replace(BLANK, status=ListingStatus.WITHDRAWN), visible(FILLED))
    assert result.holds == ()
    assert [op.kind for op in result.ops] == ["unpublish"]


def test_a_released_hold_lets_the_update_it_held_through_and_no_other() -> None:
    (hold,) = run(BLANK, visible(FILLED)).holds
    assert hold.updates == (content_hash(BLANK),)
    result = run(BLANK, visible(FILLED), released={"A1": content_hash(BLANK)})
    assert result.holds == ()
    kinds = [op.kind for op in result.ops]
    assert "update_listing" in kinds and kinds.count("delete_image") == 2
    # Released once: another blanking update of the same listing is held again.
    other = dataclasses.replace(BLANK, asking_price=1_000_000)
    again = run(other, visible(FILLED), released={"A1": content_hash(BLANK)})
    assert [h.updates for h in again.holds] == [(content_hash(other),)]
