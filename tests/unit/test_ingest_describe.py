"""The one-line history entry ingest writes for a changed listing (pure, no I/O)."""

from __future__ import annotations

import dataclasses

from syncd.core.domain import (
    Address,
    ImageRight,
    ImageRightTerms,
    Listing,
    ListingStatus,
    SellerInformation,
    normalise,
)
from syncd.usecases.ingest import describe_change

BASE = normalise(
    Listing(
        listing_key="A1",
        agency_key="byra-1",
        status=ListingStatus.FOR_SALE,
        address=Address("Götgatan 12", "11846", "Stockholm"),
        asking_price=3_495_000,
        description="Ljus trea.",
    )
)


def test_new_listing_names_file_status_street_and_price() -> None:
    text = describe_change(None, BASE, "crm.csv", reappeared=False)
    assert text == "new listing from crm.csv: for_sale, Götgatan 12, price 3 495 000"


def test_reappeared_listing_says_so() -> None:
    assert describe_change(None, BASE, "crm.csv", reappeared=True).startswith("back in crm.csv")


def test_price_and_status_changes_show_old_and_new() -> None:
    new = dataclasses.replace(BASE, asking_price=3_295_000, status=ListingStatus.UPCOMING)
    text = describe_change(BASE, new, "b.csv", reappeared=False)
    assert text == (
        "desired state changed by b.csv: status for_sale → upcoming; price 3 495 000 → 3 295 000"
    )


def test_text_and_personal_data_are_named_never_repeated() -> None:
    seller = SellerInformation("Sven Säljare", identity_number="19800101-1234")
    new = dataclasses.replace(BASE, description="Helt ny text.", seller=seller)
    text = describe_change(BASE, new, "c.csv", reappeared=False)
    assert "description changed" in text and "seller information changed" in text
    assert "19800101" not in text and "Helt ny text" not in text and "Sven" not in text


def test_long_values_are_shortened() -> None:
    new = dataclasses.replace(BASE, title="x" * 5000, floor=3)
    text = describe_change(BASE, new, "d.csv", reappeared=False)
    assert "title — → " + "x" * 60 + "…" in text and "x" * 61 not in text
    assert text.startswith("desired state changed by d.csv: floor — → 3; title")


def test_an_image_right_change_or_removal_is_named() -> None:
    with_right = dataclasses.replace(BASE, image_right=ImageRight(ImageRightTerms.NO_LICENSE))
    changed = dataclasses.replace(BASE, image_right=ImageRight(ImageRightTerms.INDEFINITE_LICENSE))
    assert describe_change(with_right, changed, "e.csv", reappeared=False) == (
        "desired state changed by e.csv: image right changed"
    )
    assert describe_change(with_right, BASE, "e.csv", reappeared=False) == (
        "desired state changed by e.csv: image right removed"
    )
