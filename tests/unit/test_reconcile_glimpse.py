"""What a reconcile run keeps of each listing of Hemnet's list: its facts come back exactly
as the list gave them, and the digest of its fields says "equal" only for equal fields."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from syncd.core.domain import MarketState, listing_fields
from syncd.hemnet.models import RemoteListing, RemoteSale
from syncd.hemnet.payload import listing_body, listing_fields_from
from syncd.usecases.reconcile.glimpse import ListGlimpses, fields_digest, oldest_glimpse
from tests.fakes.readback_world import a_listing


def remote(
    hemnet_id: str, key: str | None, created: str = "2026-12-01T10:00:00Z", **facts: Any
) -> RemoteListing:
    body = dict(listing_body(a_listing(key or "X1", images=0), "900")["listing"])
    body["createdAt"] = created
    return dataclasses.replace(
        RemoteListing(hemnet_id=hemnet_id, external_id=key, raw=body), **facts
    )


def test_a_glimpse_gives_back_every_fact_of_the_listing_but_its_body() -> None:
    sold = remote(
        "17",
        "A1",
        agency_id="900",
        is_published=False,
        is_approved=True,
        is_visible=False,
        market_state=MarketState.UPCOMING,
        allowed_market_states=frozenset({MarketState.FOR_SALE, MarketState.UPCOMING}),
        approval_url="https://hemnet.example/approve/17",
        url="https://hemnet.example/bostad/17",
        sale=RemoteSale(
            "s9", "17", 3_100_000, False, date(2026, 11, 30), datetime(2026, 12, 1, tzinfo=UTC)
        ),
    )
    plain = remote("18", None)
    glimpses = ListGlimpses()
    assert [glimpses(sold), glimpses(plain)] == ["17", "18"]

    kept = glimpses.get("17")
    assert kept is not None
    assert kept.state == sold  # ``raw`` is not compared: the facts are
    assert kept.state.raw == {}
    assert kept.fields == fields_digest(listing_fields_from(sold.raw))
    assert glimpses.get("18") == dataclasses.replace(kept, state=dataclasses.replace(plain, raw={}))
    assert glimpses.get("19") is None
    assert list(glimpses.ids()) == [("17", "A1"), ("18", None)]


def test_listings_carrying_one_key_are_kept_together_and_the_oldest_found() -> None:
    glimpses = ListGlimpses()
    glimpses(remote("30", "D1", created="2026-12-02T10:00:00Z"))
    glimpses(remote("4", "D1", created="2026-12-01T10:00:00Z"))
    glimpses(remote("5", "D2"))
    assert "D1" in glimpses and "D3" not in glimpses
    assert glimpses.several() == ["D1"]
    assert [g.hemnet_id for g in glimpses.carrying("D1")] == ["30", "4"]
    assert oldest_glimpse(glimpses.carrying("D1")).hemnet_id == "4"


def test_the_digest_of_fields_is_equal_only_for_equal_fields() -> None:
    listing = a_listing("F1", images=0)
    fields = listing_fields(listing)
    from_hemnet = listing_fields_from(listing_body(listing, "900")["listing"])
    assert from_hemnet == fields
    assert fields_digest(from_hemnet) == fields_digest(fields)
    # 72.50 is 72.5, as drift compares them
    same = dict(fields, living_area=Decimal("72.50"))
    assert fields_digest(same) == fields_digest(fields)
    for name, value in [
        ("living_area", Decimal("72.6")),
        ("title", "Ljus trea!"),
        ("asking_price", 3_000_001),
        ("description", None),
        ("address", dataclasses.replace(listing.address, apartment_number=None)),
    ]:
        assert fields_digest(dict(fields, **{name: value})) != fields_digest(fields), name
    # Equal, but of another type: told apart (read whole), never taken as equal wrongly.
    assert fields_digest(dict(fields, new_construction=0)) != fields_digest(fields)


def test_only_the_keys_a_run_looks_up_are_kept_after_its_begin() -> None:
    glimpses = ListGlimpses()
    for hemnet_id, key in [("1", "IN"), ("2", "LOST"), ("3", "MOVED"), ("4", "ALIEN")]:
        glimpses(remote(hemnet_id, key))
    glimpses(remote("5", "DUP"))
    glimpses(remote("6", "DUP"))
    followed = {"IN": "1", "LOST": None, "MOVED": "99", "DUP": "5", "GONE": "98"}
    glimpses.keep_keys_to_follow(followed)
    # Followed under the listing carrying it: never looked up by key; not ours: never.
    assert "IN" not in glimpses and "ALIEN" not in glimpses
    assert [g.hemnet_id for g in glimpses.carrying("LOST")] == ["2"]
    assert [g.hemnet_id for g in glimpses.carrying("MOVED")] == ["3"]
    assert [g.hemnet_id for g in glimpses.carrying("DUP")] == ["5", "6"]
    assert glimpses.get("1") is not None and glimpses.get("4") is not None
