"""Hemnet's limits live in one place: what ingest refuses is exactly what the sandbox's wire
schema answers 400 for, field by field, at the limit and one past it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from syncd.core import limits
from syncd.core.domain import (
    Address,
    Broker,
    ImageRight,
    ImageRightTerms,
    Listing,
    ListingStatus,
    PhotoAgency,
    normalise,
    problems,
)
from syncd.hemnet.payload import image_right_body, image_right_of, listing_body
from syncd.sandbox import wire as sandbox_wire
from syncd.sandbox.schema import SchemaViolation, validate

BASE = Listing(
    listing_key="L1",
    agency_key="byra",
    status=ListingStatus.FOR_SALE,
    address=Address("Storgatan 1", "11122", "Stockholm"),
    asking_price=2_500_000,
    broker=Broker("Anna", "anna@example.se", "08-1234567"),
)

Setter = Callable[[Listing, str], Listing]


def _address(**change: str) -> Setter:
    return lambda listing, text: dataclasses.replace(
        listing, address=dataclasses.replace(listing.address, **{k: text for k in change})
    )


def _broker(name: str) -> Setter:
    def set_broker(listing: Listing, text: str) -> Listing:
        assert listing.broker is not None
        return dataclasses.replace(
            listing, broker=dataclasses.replace(listing.broker, **{name: text})
        )

    return set_broker


CASES: list[tuple[str, int, Setter]] = [
    ("title", limits.SHORT_TEXT_MAX, lambda listing, t: dataclasses.replace(listing, title=t)),
    (
        "description",
        limits.DESCRIPTION_MAX,
        lambda listing, t: dataclasses.replace(listing, description=t),
    ),
    (
        "listing_key",
        limits.EXTERNAL_ID_MAX,
        lambda listing, t: dataclasses.replace(listing, listing_key=t),
    ),
    ("address.street", limits.SHORT_TEXT_MAX, _address(street="")),
    ("address.city", limits.SHORT_TEXT_MAX, _address(city="")),
    ("address.apartment_number", limits.APARTMENT_NUMBER_MAX, _address(apartment_number="")),
    ("broker.name", limits.SHORT_TEXT_MAX, _broker("name")),
    ("broker.phone", limits.PHONE_MAX, _broker("phone")),
]


def errors_of(listing: Listing) -> list[str]:
    return [f"{p.field}: {p.reason}" for p in problems(listing) if p.severity == "error"]


def sandbox_accepts(listing: Listing) -> bool:
    body = {sandbox_wire.LISTING_ONE: listing_body(listing, "agency-1")[sandbox_wire.LISTING_ONE]}
    try:
        validate(sandbox_wire.LISTING_CREATE, body)
    except SchemaViolation:
        return False
    return True


@pytest.mark.parametrize(("field", "limit", "setter"), CASES, ids=[c[0] for c in CASES])
def test_ingest_refuses_exactly_what_the_wire_schema_refuses(
    field: str, limit: int, setter: Setter
) -> None:
    at_limit = normalise(setter(BASE, "x" * limit))
    past = normalise(setter(BASE, "x" * (limit + 1)))
    assert errors_of(at_limit) == []
    assert sandbox_accepts(at_limit)
    assert errors_of(past) == [
        f"{field}: longer than Hemnet's limit of {limit:,} characters ({limit + 1:,})"
    ]
    assert not sandbox_accepts(past)


def test_ranges_are_the_wire_schemas_too() -> None:
    floor = dataclasses.replace(BASE, floor=limits.FLOOR_MAX + 1)
    assert errors_of(floor) == [
        f"floor: outside Hemnet's range {limits.FLOOR_MIN} to {limits.FLOOR_MAX:,}"
    ]
    assert not sandbox_accepts(floor)
    assert sandbox_accepts(dataclasses.replace(BASE, floor=limits.FLOOR_MAX))


# Each name's field set by its own keyword, so the checker sees which field and its type.
_NAMED: dict[str, Callable[[ImageRight, str], ImageRight]] = {
    "photo_agency_name": lambda right, text: dataclasses.replace(right, photo_agency_name=text),
    "photographer": lambda right, text: dataclasses.replace(right, photographer=text),
}


@pytest.mark.parametrize("name", sorted(_NAMED))
def test_the_image_rights_names_are_held_to_the_wire_schemas_limit(name: str) -> None:
    def right_body(listing: Listing) -> bool:
        assert listing.image_right is not None
        try:
            validate(
                sandbox_wire.IMAGE_RIGHT_BODY, image_right_body(image_right_of(listing.image_right))
            )
        except SchemaViolation:
            return False
        return True

    def with_name(text: str) -> Listing:
        right = ImageRight(ImageRightTerms.NO_LICENSE, PhotoAgency.FREELANCE, "Foto Fia")
        return normalise(dataclasses.replace(BASE, image_right=_NAMED[name](right, text)))

    limit = limits.SHORT_TEXT_MAX
    at_limit, past = with_name("x" * limit), with_name("x" * (limit + 1))
    assert errors_of(at_limit) == [] and right_body(at_limit)
    assert errors_of(past) == [
        f"image_right.{name}: longer than Hemnet's limit of {limit:,} characters ({limit + 1:,})"
    ]
    assert not right_body(past)
