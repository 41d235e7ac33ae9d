"""problems(): every check of a record, reported in one fixed order.

The order is what an operator reads in a rejected file's report, so a listing that breaks
every rule at once must list its problems in the same order every time.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from syncd.core.domain import (
    Address,
    Coordinates,
    HousingForm,
    Image,
    ImageRight,
    Listing,
    ListingStatus,
    PhotoAgency,
    Sale,
    Tenure,
    problems,
)


def _broken_everywhere() -> Listing:
    return Listing(
        listing_key="",
        agency_key="a\x00b",
        status=ListingStatus.SOLD,
        address=Address(street="", postal_code="123"),
        housing_form=HousingForm.APARTMENT,
        tenure=Tenure.CONDOMINIUM,
        coordinates=Coordinates(91.0, 0.0),
        asking_price=-1,
        monthly_fee=2_000_000_000,
        living_area=Decimal("-3"),
        rooms=Decimal("1001"),
        floor=1001,
        construction_year=3000,
        energy_class="Z",
        images=(
            Image(url="not a url"),
            Image(url="https://img.example/1.jpg", order=1),
            Image(url="https://img.example/1.jpg", order=2),
        ),
        sale=Sale(price=0, price_is_public=True, sold_on=date(2026, 1, 2)),
        image_right=ImageRight(photo_agency=PhotoAgency.FREELANCE),
    )


def test_a_listing_broken_everywhere_reports_each_problem_in_the_fixed_order() -> None:
    found = [(p.field, p.severity) for p in problems(_broken_everywhere())]

    assert found == [
        ("listing_key", "error"),
        ("agency_key", "error"),
        ("address.street", "error"),
        ("address.postal_code", "warning"),
        ("asking_price", "error"),
        ("monthly_fee", "error"),
        ("living_area", "error"),
        ("construction_year", "error"),
        ("energy_class", "error"),
        ("coordinates", "error"),
        ("rooms", "error"),
        ("floor", "error"),
        ("images.url", "error"),
        ("images.url", "warning"),
        ("sale.price", "error"),
        ("image_right.photo_agency_name", "error"),
        ("address.apartment_number", "warning"),
    ]


def test_a_mapping_limit_replaces_the_plausible_maximum() -> None:
    listing = Listing(
        listing_key="k1",
        agency_key="a1",
        status=ListingStatus.FOR_SALE,
        address=Address(street="Storgatan 1", postal_code="11122"),
        rooms=Decimal("40"),
    )

    assert problems(listing) == []
    found = problems(listing, {"rooms": 30})
    assert [(p.field, p.value, p.reason) for p in found] == [
        ("rooms", "40", "more than 30 rooms is not plausible")
    ]
