"""content_hash and its siblings: stable across processes, sensitive to every field.

Stored hashes decide whether anything is sent to Hemnet, so a hash that drifts between
runs resends everything, and a field the hash ignores is never sent.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from syncd.core.domain import (
    LISTING_FIELDS,
    Address,
    BillingInformation,
    Broker,
    Coordinates,
    Hashes,
    HousingForm,
    Image,
    ImageRight,
    ImageRightTerms,
    Listing,
    ListingStatus,
    PhotoAgency,
    Sale,
    SellerInformation,
    SellerType,
    Tenure,
    Viewing,
    content_hash,
    listing_from_plain,
    to_plain,
)

HERE = Path(__file__).resolve().parent


def full_listing() -> Listing:
    """A listing with every field set to something other than its default."""
    return Listing(
        listing_key="A-1001",
        agency_key="agency-1",
        status=ListingStatus.FOR_SALE,
        address=Address("Götgatan 12", "11646", "Stockholm", "Stockholm", "1102"),
        housing_form=HousingForm.APARTMENT,
        tenure=Tenure.CONDOMINIUM,
        coordinates=Coordinates(59.312, 18.072),
        asking_price=4_250_000,
        monthly_fee=3_412,
        operating_cost=7_200,
        living_area=Decimal("72.5"),
        supplemental_area=Decimal("4.0"),
        plot_area=Decimal("0.0"),
        rooms=Decimal("2.5"),
        floor=3,
        construction_year=1929,
        energy_class="C",
        new_construction=True,
        title="Ljus trea på Söder",
        description="Balkong i söderläge.\n\nNära tunnelbanan.",
        images=(
            Image("https://img.example/1.jpg", "Vardagsrum", 0, False, "r1"),
            Image("https://img.example/2.jpg", "Planritning", 1, True, "r1"),
        ),
        viewings=(
            Viewing(
                datetime(2026, 3, 8, 13, 0, tzinfo=UTC),
                datetime(2026, 3, 8, 14, 0, tzinfo=UTC),
                "Välkommen",
            ),
        ),
        broker=Broker("Eva Mäklare", "eva@example.se", "+46701234567"),
        seller=SellerInformation(
            "Per Säljare", "per@example.se", "19800101-1234", SellerType.INDIVIDUAL
        ),
        billing=BillingInformation("Per Säljare", "Götgatan 12", "11646", "Stockholm"),
        sale=Sale(4_100_000, True, date(2026, 4, 1)),
        image_right=ImageRight(
            ImageRightTerms.SIX_MONTHS_LICENSE, PhotoAgency.FREELANCE, "Foto Fia", "Fia Ek"
        ),
    )


def changed(value: Any) -> Any:
    """A different value of the same kind (for a dataclass: its first field changed)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | Decimal):
        return value + 1
    if isinstance(value, float):
        return value + 0.001
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, ListingStatus):
        return ListingStatus.UPCOMING
    if isinstance(value, HousingForm):
        return HousingForm.HOUSE
    if isinstance(value, Tenure):
        return Tenure.FREEHOLD
    if isinstance(value, SellerType):
        return SellerType.ESTATE
    if isinstance(value, ImageRightTerms):
        return ImageRightTerms.NO_LICENSE
    if isinstance(value, PhotoAgency):
        return PhotoAgency.DIAKRIT
    if isinstance(value, datetime | date):
        return value.replace(day=value.day + 1)
    raise AssertionError(f"no variant for {value!r}")


def variants(obj: Any) -> list[tuple[str, Any]]:
    """One copy of a dataclass per field, with only that field changed (nested ones too)."""
    out: list[tuple[str, Any]] = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out += [
                (f"{f.name}.{n}", dataclasses.replace(obj, **{f.name: v}))
                for n, v in variants(value)
            ]
        elif isinstance(value, tuple):
            first = value[0]
            out += [
                (f"{f.name}[0].{n}", dataclasses.replace(obj, **{f.name: (v, *value[1:])}))
                for n, v in variants(first)
            ]
        else:
            out.append((f.name, dataclasses.replace(obj, **{f.name: changed(value)})))
    return out


def which_hash(field_path: str) -> str:
    top = field_path.split(".")[0].split("[")[0]
    return {
        "images": "images",
        "sale": "sale",
        "seller": "seller",
        "billing": "billing",
        "image_right": "image_right",
    }.get(top, "content")


def test_every_field_of_listing_is_set_in_the_fixture() -> None:
    listing = full_listing()
    defaults = Listing(listing.listing_key, listing.agency_key, listing.status, listing.address)
    same = [
        f.name
        for f in dataclasses.fields(Listing)
        if getattr(listing, f.name) == getattr(defaults, f.name)
    ]
    assert same == ["listing_key", "agency_key", "status", "address"]


FIELD_VARIANTS = variants(full_listing())


def test_variants_cover_every_field_and_image_attribute() -> None:
    names = {name for name, _ in FIELD_VARIANTS}
    for f in dataclasses.fields(Listing):
        assert any(n == f.name or n.startswith((f"{f.name}.", f"{f.name}[")) for n in names)
    for f in dataclasses.fields(Image):
        assert f"images[0].{f.name}" in names


@pytest.mark.parametrize(
    ("field_path", "variant"), FIELD_VARIANTS, ids=[n for n, _ in FIELD_VARIANTS]
)
def test_a_change_to_any_single_field_changes_its_hash(field_path: str, variant: Listing) -> None:
    before = Hashes.of(full_listing())
    after = Hashes.of(variant)
    hash_name = which_hash(field_path)
    top = field_path.split(".")[0].split("[")[0]
    if top in ("listing_key", "agency_key", "status"):
        # identity and status travel outside the body: plan compares them directly
        assert before == after
        return
    assert getattr(before, hash_name) != getattr(after, hash_name)
    # ...and only that hash: an image edit must not resend the listing body
    for other in ("content", "images", "sale", "seller", "billing", "image_right"):
        if other != hash_name:
            assert getattr(before, other) == getattr(after, other), other


def test_the_body_hash_covers_exactly_the_listing_fields() -> None:
    body = {name for name, _ in FIELD_VARIANTS if which_hash(name) == "content"}
    tops = {name.split(".")[0].split("[")[0] for name in body}
    assert tops - {"listing_key", "agency_key", "status"} == set(LISTING_FIELDS)


def test_adding_or_removing_an_image_or_the_sale_changes_the_hashes() -> None:
    listing = full_listing()
    fewer = dataclasses.replace(listing, images=listing.images[:1])
    unsold = dataclasses.replace(listing, sale=None)
    assert Hashes.of(fewer).images != Hashes.of(listing).images
    assert Hashes.of(unsold).sale is None and Hashes.of(listing).sale is not None


def test_hash_survives_the_store_round_trip() -> None:
    listing = full_listing()
    assert listing_from_plain(to_plain(listing)) == listing
    assert Hashes.of(listing_from_plain(to_plain(listing))) == Hashes.of(listing)


def hash_in_subprocess(seed: str) -> str:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from test_domain_hash import full_listing; "
        "from syncd.core.domain import content_hash, Hashes; "
        "h = Hashes.of(full_listing()); print(content_hash(full_listing()), h.images, h.sale)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(HERE)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": seed},
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_hashes_are_identical_across_processes() -> None:
    listing = full_listing()
    h = Hashes.of(listing)
    expected = f"{content_hash(listing)} {h.images} {h.sale}"
    # different hash seeds: set and dict ordering inside a process must not leak in
    assert hash_in_subprocess("1") == expected
    assert hash_in_subprocess("4242") == expected
