"""Every listing's state in one read: same answers as the row-by-row views, decoded once."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from syncd.core.domain import (
    Address,
    Image,
    ImageState,
    KnownImage,
    Listing,
    ListingStatus,
    MarketState,
    Sale,
    listing_from_plain,
    normalise,
)
from syncd.store import listing_states, listings
from syncd.store.engine import Store
from syncd.store.listing_states import (
    ListingState,
    awaiting_approval,
    known_of,
    listing_key_chunks,
    read_listing_states,
)
from tests.fakes.store_state import mark_missing, save_desired


def a_listing(key: str, price: int = 2_000_000) -> Listing:
    return normalise(
        Listing(
            listing_key=key,
            agency_key="ag",
            status=ListingStatus.FOR_SALE,
            address=Address("Storgatan 1", "11122", "Stockholm"),
            asking_price=price,
            living_area=Decimal("72.5"),
            images=(Image(f"https://img.example/{key}.jpg", "Hall", 0),),
        )
    )


def _seed(store: Store, now: datetime) -> None:
    """A1 only desired; A2 sent, published, with an image; A3 sold and gone from the CRM."""
    with store.transaction() as session:
        for key in ("A1", "A2", "A3"):
            save_desired(session, a_listing(key), now)
        listings.record_sent(session, "A2", now, hemnet_id="h2", sent=a_listing("A2"))
        listings.record_remote_state(
            session,
            "A2",
            now,
            is_published=True,
            is_approved=False,
            market_state=MarketState.FOR_SALE,
            allowed_market_states=[MarketState.FOR_SALE, MarketState.UPCOMING],
            approval_url="https://hemnet.example/approve/h2",
        )
        listings.save_known_image(
            session,
            "A2",
            KnownImage("https://img.example/A2.jpg", "i1", ImageState.IN_PROGRESS, 0, "Hall"),
            now,
            is_floor_plan=False,
        )
        listings.record_sent(session, "A3", now, hemnet_id="h3", sent=a_listing("A3"))
        listings.record_sold(session, "A3", Sale(1_900_000, False, date(2026, 2, 1)), now)
        mark_missing(session, ["A3"], now)


def test_snapshot_agrees_with_the_row_by_row_views(store: Store, now: datetime) -> None:
    _seed(store, now)
    with store.read() as session:
        states = read_listing_states(session)
        rows = {row.listing_key: row for row in listings.all_listings(session)}
        for state in states:
            row = rows[state.listing_key]
            images = listings.known_images(session, state.listing_key)
            assert state.desired == listings.desired_listing(row)
            assert state.known == listings.known_listing(row, images)
            assert [(i.url, i.state) for i in state.images] == [(i.url, i.state) for i in images]
        assert [s.listing_key for s in states] == sorted(rows)
    known = known_of(states)
    assert set(known) == {"A2", "A3"}
    assert known["A3"].sold == Sale(1_900_000, False, date(2026, 2, 1))
    assert known["A2"].images[0].state is ImageState.IN_PROGRESS


def test_a_listing_left_the_crm_reads_as_no_desired_listing(store: Store, now: datetime) -> None:
    # The JSON column stores None as the text "null": that must read as "not wanted".
    _seed(store, now)
    with store.read() as session:
        (state,) = read_listing_states(session, only="A3")
    assert state.desired is None and state.missing_since == now
    assert state.known is not None and state.known.sent == a_listing("A3")


def test_a_listing_sent_as_the_crm_wants_it_is_decoded_once(store: Store, now: datetime) -> None:
    _seed(store, now)
    with store.read() as session:
        states = {s.listing_key: s for s in read_listing_states(session)}
    # A2 was sent as the CRM still wants it: one object for both (memory at 100,000).
    assert states["A2"].known is not None
    assert states["A2"].known.sent is states["A2"].desired
    assert states["A2"].desired == a_listing("A2")


def test_key_chunks_cover_every_listing_once_in_order(store: Store, now: datetime) -> None:
    with store.transaction() as session:
        for n in range(7):
            save_desired(session, a_listing(f"K{n}"), now)
    with store.read() as session:
        assert list(listing_key_chunks(session, 3)) == [
            ["K0", "K1", "K2"],
            ["K3", "K4", "K5"],
            ["K6"],
        ]
        assert list(listing_key_chunks(session, 7)) == [[f"K{n}" for n in range(7)]]


def test_awaiting_approval_is_what_every_listing_s_state_says(store: Store, now: datetime) -> None:
    _seed(store, now)  # A2 published, not approved; A3 sold
    with store.transaction() as session:
        for key, sold in (("A4", None), ("A5", Sale(1_000_000, True, date(2026, 2, 2)))):
            save_desired(session, a_listing(key), now)
            listings.record_sent(session, key, now, hemnet_id=f"h{key}", sent=a_listing(key))
            # Both published and not approved; A5 sold since (Hemnet unpublishes it later).
            listings.record_remote_state(
                session, key, now, is_published=True, is_approved=False, sold=sold
            )
    with store.read() as session:
        awaited = awaiting_approval(session)
        states = read_listing_states(session)
    expected = [
        (s.listing_key, s.published_at, s.approval_url)
        for s in states
        if s.is_published
        and not s.is_approved
        and (s.known is None or s.known.sold is None)
        and s.published_at is not None
    ]
    assert [(a.listing_key, a.published_at, a.approval_url) for a in awaited] == expected
    assert [a.listing_key for a in awaited] == ["A2", "A4"]


def test_a_listing_sent_as_wanted_is_decoded_once_read_after_read_until_either_changes(
    store: Store, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(store, now)  # A2 sent as the CRM wants it, stored as other text
    decoded: list[str] = []
    decode = listing_from_plain  # the function listing_states calls, counted below

    def counted(data: Any) -> Listing:
        decoded.append(data["listing_key"])
        return decode(data)

    monkeypatch.setattr(listing_states, "listing_from_plain", counted)
    sent_as_wanted = listing_states.SentAsWanted()

    def read(*, every: bool = False) -> dict[str, ListingState]:
        decoded.clear()
        if every:
            sent_as_wanted.begin()
        with store.read() as session:
            states = read_listing_states(session, sent_as_wanted=sent_as_wanted)
        if every:
            sent_as_wanted.end()
        return {state.listing_key: state for state in states}

    def sent(state: ListingState) -> Listing | None:
        assert state.known is not None
        return state.known.sent

    first = read()
    assert sorted(decoded) == ["A1", "A2", "A2", "A3"] and sent(first["A2"]) is first["A2"].desired
    for every in (False, True, True):  # kept across reads of every listing, too
        again = read(every=every)
        assert sorted(decoded) == ["A1", "A2", "A3"]  # A2's sent text: known as the desired
        assert sent(again["A2"]) is again["A2"].desired == a_listing("A2")
    with store.transaction() as session:
        save_desired(session, a_listing("A2", price=2_500_000), now)
    changed = read(every=True)
    assert sent(changed["A2"]) == a_listing("A2") != changed["A2"].desired
    with store.transaction() as session:
        listings.record_sent(session, "A2", now, sent=a_listing("A2", price=2_500_000))
    read()
    assert sorted(decoded) == ["A1", "A2", "A2", "A3"]
    sent_again = read()
    assert sorted(decoded) == ["A1", "A2", "A3"]
    assert sent(sent_again["A2"]) is sent_again["A2"].desired == a_listing("A2", price=2_500_000)
