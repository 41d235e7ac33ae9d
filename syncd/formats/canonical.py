"""Canonical values (fields by their mapping names) to one normalised ``Listing``, and a
partial record's values laid over the stored listing.

Applies ``domain.normalise`` and ``domain.problems``; every failure becomes a ``Problem``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeVar

from syncd.core.domain import (
    Address,
    BillingInformation,
    Broker,
    Coordinates,
    HousingForm,
    Image,
    ImageRight,
    Listing,
    ListingStatus,
    Problem,
    Sale,
    SellerInformation,
    SellerType,
    Tenure,
    Viewing,
    image_right_from_plain,
    normal_area,
    normalise,
    problems,
)
from syncd.formats.mapping import FIELD_KINDS

# The key of a patch's values that only a default or a constant gave (see merge_partial).
DEFAULTS = "@defaults"


def build_listing(
    v: MappingABC[str, Any],
    images: Sequence[Image],
    viewings: Sequence[Viewing],
    out: list[Problem],
    limits: MappingABC[str, Decimal] | None = None,
) -> Listing:
    """The normalised listing of canonical values (``v["status"]`` must be set); adds its
    problems to ``out``."""
    status = _STATUSES.get(v["status"]) or ListingStatus(v["status"])
    listing = Listing(
        listing_key=v.get("listing_key") or "",
        agency_key=v.get("agency_key") or "",
        status=status,
        address=Address(
            street=v.get("address.street") or "",
            postal_code=v.get("address.postal_code"),
            city=v.get("address.city"),
            municipality=v.get("address.municipality"),
            apartment_number=v.get("address.apartment_number"),
        ),
        housing_form=_member(HousingForm, _HOUSING_FORMS, v.get("housing_form")),
        tenure=_member(Tenure, _TENURES, v.get("tenure")),
        coordinates=_coordinates(v, out),
        asking_price=v.get("asking_price"),
        monthly_fee=v.get("monthly_fee"),
        operating_cost=v.get("operating_cost"),
        living_area=normal_area(v.get("living_area")),
        supplemental_area=normal_area(v.get("supplemental_area")),
        plot_area=normal_area(v.get("plot_area")),
        rooms=normal_area(v.get("rooms")),
        floor=v.get("floor"),
        construction_year=v.get("construction_year"),
        energy_class=v.get("energy_class"),
        new_construction=bool(v.get("new_construction") or False),
        title=v.get("title"),
        description=v.get("description"),
        images=tuple(images),
        viewings=tuple(viewings),
        broker=_broker(v, out),
        seller=_seller(v, out),
        billing=_billing(v, out),
        sale=_sale(v, status),
        image_right=_image_right(v),
    )
    listing = normalise(listing)
    out.extend(problems(listing, limits))
    return listing


# Enum members by value: a dict lookup where the enum's call costs a lookup and more.
_STATUSES = {member.value: member for member in ListingStatus}
_HOUSING_FORMS = {member.value: member for member in HousingForm}
_TENURES = {member.value: member for member in Tenure}


_E = TypeVar("_E", bound=enum.Enum)


def _member(kind: type[_E], members: MappingABC[str, _E], value: Any) -> _E | None:
    """``kind(value)`` for a non-empty value (a value of no member raises as the call does)."""
    if not value:
        return None
    return members.get(value) or kind(value)


def canonical_values(listing: Listing) -> dict[str, Any]:
    """The canonical fields of a listing by their mapping names (``build_listing``'s input)."""
    values: dict[str, Any] = {}
    for name in FIELD_KINDS:
        value: Any = listing
        for part in name.split("."):
            value = getattr(value, part, None)
            if value is None:
                break
        values[name] = value.value if isinstance(value, enum.Enum) else value
    return values


def merge_partial(
    base: Listing | None,
    key: str,
    patch: MappingABC[str, Any],
    limits: MappingABC[str, Decimal] | None = None,
) -> tuple[Listing | None, list[Problem]]:
    """A partial record's fields laid over the stored listing: only what it carries changes.

    Without a stored listing there is nothing to lay them on: the first record of a listing
    must carry all of it.
    """
    out: list[Problem] = []
    if base is None:
        out.append(
            Problem(
                "listing_key",
                key,
                "a partial record for a listing syncd does not know; its first record "
                "must carry the whole listing",
            )
        )
        return None, out
    v = canonical_values(base)
    v.update((name, value) for name, value in patch.items() if name in FIELD_KINDS)
    for name, value in patch.get(DEFAULTS, {}).items():
        if v.get(name) is None:
            v[name] = value
    v["listing_key"] = base.listing_key
    images = patch.get("images", base.images)
    viewings = patch.get("viewings", base.viewings)
    listing = build_listing(v, images, viewings, out, limits)
    usable = not any(p.severity == "error" for p in out)
    return (listing if usable else None), out


def _coordinates(v: MappingABC[str, Any], out: list[Problem]) -> Coordinates | None:
    lat, lon = v.get("coordinates.latitude"), v.get("coordinates.longitude")
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        out.append(
            Problem(
                "coordinates",
                f"{lat},{lon}",
                "only one of latitude and longitude is given; both are left out",
                "warning",
            )
        )
        return None
    if lat == 0 and lon == 0:
        out.append(Problem("coordinates", "0,0", "0,0 is not a real place; left out", "warning"))
        return None
    return Coordinates(lat, lon)


def _nameless(
    v: MappingABC[str, Any], out: list[Problem], name: str, rest: tuple[str, ...], reason: str
) -> None:
    """A part without its name is left out: a warning when the record gave any of the rest."""
    if any(v.get(field) for field in rest):
        out.append(Problem(name, None, reason, "warning"))


def _broker(v: MappingABC[str, Any], out: list[Problem]) -> Broker | None:
    name = v.get("broker.name")
    if name is None:
        reason = "broker contact without a name is left out"
        _nameless(v, out, "broker.name", ("broker.email", "broker.phone"), reason)
        return None
    return Broker(name=name, email=v.get("broker.email"), phone=v.get("broker.phone"))


def _seller(v: MappingABC[str, Any], out: list[Problem]) -> SellerInformation | None:
    name = v.get("seller.name")
    if name is None:
        reason = "seller information without a name is left out"
        _nameless(v, out, "seller.name", ("seller.email", "seller.identity_number"), reason)
        return None
    kind = v.get("seller.seller_type")
    return SellerInformation(
        name=name,
        email=v.get("seller.email"),
        identity_number=v.get("seller.identity_number"),
        seller_type=SellerType(kind) if kind else None,
    )


def _billing(v: MappingABC[str, Any], out: list[Problem]) -> BillingInformation | None:
    name = v.get("billing.recipient_name")
    if name is None:
        reason = "billing address without a recipient is left out"
        _nameless(v, out, "billing.recipient_name", ("billing.street", "billing.city"), reason)
        return None
    return BillingInformation(
        recipient_name=name,
        street=v.get("billing.street"),
        postal_code=v.get("billing.postal_code"),
        city=v.get("billing.city"),
    )


def _sale(v: MappingABC[str, Any], status: ListingStatus) -> Sale | None:
    # A sale is near-irreversible on Hemnet: only an explicit sold status makes one.
    price, sold_on = v.get("sale.price"), v.get("sale.sold_on")
    if status is not ListingStatus.SOLD or price is None or sold_on is None:
        return None
    public = v.get("sale.price_is_public")
    return Sale(price=price, price_is_public=bool(public), sold_on=sold_on)


def _image_right(v: MappingABC[str, Any]) -> ImageRight | None:
    """The right when the record gives any part of it (normalise drops an empty one)."""
    given = {part: v.get(name) for part, name in _IMAGE_RIGHT_PARTS}
    if not any(given.values()):
        return None  # what normalise makes of an empty right: no copy of the listing for it
    return image_right_from_plain(given)


_IMAGE_RIGHT_PARTS = tuple(
    (part, f"image_right.{part}")
    for part in ("terms", "photo_agency", "photo_agency_name", "photographer")
)
