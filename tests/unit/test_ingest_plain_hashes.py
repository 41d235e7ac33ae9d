"""Hashes.of_plain (what ingest uses) gives exactly Hashes.of: a drift would resend everything."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from syncd.core.domain import Address, Hashes, Listing, ListingStatus, to_plain
from tests.unit.test_domain_hash import full_listing, variants


def test_of_plain_equals_of_for_every_field_changed() -> None:
    listings = [full_listing()] + [variant for _name, variant in variants(full_listing())]
    for listing in listings:
        assert Hashes.of_plain(to_plain(listing)) == Hashes.of(listing)


@pytest.mark.parametrize("part", ["sale", "seller", "billing", "coordinates", "broker"])
def test_of_plain_equals_of_without_an_optional_part(part: str) -> None:
    none: dict[str, Any] = {part: None}
    listing = dataclasses.replace(full_listing(), **none)
    hashes = Hashes.of_plain(to_plain(listing))
    assert hashes == Hashes.of(listing)
    if part in ("sale", "seller", "billing"):
        assert getattr(hashes, part) is None


def test_of_plain_of_a_bare_listing() -> None:
    listing = Listing("K", "A", ListingStatus.UPCOMING, Address("Storgatan 1"))
    assert Hashes.of_plain(to_plain(listing)) == Hashes.of(listing)
