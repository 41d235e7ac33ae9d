"""Problems: what makes a record unusable (errors) or doubtful (warnings), and why.

Reports only: it never changes a listing, and does no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from syncd.core import limits as hemnet_limits
from syncd.core.domain.listing import (
    ENERGY_CLASSES,
    HousingForm,
    Listing,
    ListingStatus,
    PhotoAgency,
    Tenure,
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one record: which field, which value, why."""

    field: str
    value: str | None
    reason: str
    severity: str = "error"  # "error" skips the record; "warning" only reports


MAX_PRICE_SEK = 1_000_000_000
# The largest plausible value of each number field (a mapping may override them, see
# docs/mappings.md "Plausibility limits"); a field without an entry has no upper limit.
PLAUSIBLE_MAX: Mapping[str, int] = {
    "asking_price": MAX_PRICE_SEK,
    "monthly_fee": MAX_PRICE_SEK,
    "operating_cost": MAX_PRICE_SEK,
    "sale.price": MAX_PRICE_SEK,
    "living_area": 10_000,
}
_UNITS = {"living_area": "m²", "supplemental_area": "m²", "plot_area": "m²", "rooms": "rooms"}
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
# An id is sent to Hemnet, stored, logged and shown: no control character at all (a NUL
# would end a C string, a newline forge a log line), unlike text, where \t \n \r are fine.
_KEY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


_Limits = Mapping[str, Decimal | int]


def _problem(name: str, value: object, reason: str, severity: str = "error") -> Problem:
    return Problem(name, None if value is None else str(value)[:200], reason, severity)


# Each check adds its problems to ``out``: a plain call, where a generator per check (nine a
# listing, most yielding nothing) cost more than the checks themselves.
_Out = list[Problem]


def _key_problems(listing: Listing, most: _Limits, out: _Out) -> None:
    if not listing.listing_key:
        out.append(_problem("listing_key", listing.listing_key, "missing listing key"))
    if not listing.agency_key:
        out.append(_problem("agency_key", listing.agency_key, "missing agency key"))
    for name, key in (("listing_key", listing.listing_key), ("agency_key", listing.agency_key)):
        if _KEY_CONTROL.search(key):
            # Shown escaped: the raw value would carry the control character along.
            shown = key.encode("unicode_escape").decode("ascii")
            reason = "contains a control character (such as NUL or a line break)"
            out.append(_problem(name, shown, reason))


_POSTAL_CODE = re.compile(r"\d{5}")


def _address_problems(listing: Listing, most: _Limits, out: _Out) -> None:
    address = listing.address
    if not address.street:
        out.append(_problem("address.street", address.street, "missing street address"))
    if address.postal_code and not _POSTAL_CODE.fullmatch(address.postal_code):
        out.append(
            _problem(
                "address.postal_code",
                address.postal_code,
                "a Swedish postal code has five digits",
                "warning",
            )
        )


def _number_problems(listing: Listing, most: _Limits, out: _Out) -> None:
    money = (
        ("asking_price", listing.asking_price),
        ("monthly_fee", listing.monthly_fee),
        ("operating_cost", listing.operating_cost),
    )
    for name, value in money:
        if value is not None and value < 0:
            out.append(_problem(name, value, "must not be negative"))
        elif value is not None and name in most and value > most[name]:
            reason = f"more than {most[name]:,} SEK is not a plausible amount"
            out.append(_problem(name, value, reason))
    sizes: tuple[tuple[str, Decimal | None], ...] = (
        ("living_area", listing.living_area),
        ("supplemental_area", listing.supplemental_area),
        ("plot_area", listing.plot_area),
        ("rooms", listing.rooms),
    )
    for name, size in sizes:
        if size is not None and size < 0:
            out.append(_problem(name, size, "must not be negative"))
        elif size is not None and name in most and size > most[name]:
            reason = f"more than {most[name]:,} {_UNITS[name]} is not plausible"
            out.append(_problem(name, size, reason))


def _fact_problems(listing: Listing, most: _Limits, out: _Out) -> None:
    if listing.construction_year is not None and not 1000 <= listing.construction_year <= 2100:
        out.append(_problem("construction_year", listing.construction_year, "not a plausible year"))
    if listing.energy_class is not None and listing.energy_class not in ENERGY_CLASSES:
        reason = f"must be one of {', '.join(ENERGY_CLASSES)}"
        out.append(_problem("energy_class", listing.energy_class, reason))
    if listing.coordinates is not None:
        lat, lon = listing.coordinates.latitude, listing.coordinates.longitude
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            reason = "latitude or longitude out of range"
            out.append(_problem("coordinates", f"{lat},{lon}", reason))


def _limit_problems(listing: Listing, most: _Limits, out: _Out) -> None:
    out.extend(hemnet_limit_problems(listing))


def _image_problems(listing: Listing, most: _Limits, out: _Out) -> None:
    seen: set[str] = set()
    for img in listing.images:
        if not _URL.match(img.url):
            reason = "image URL must be absolute http(s) without spaces"
            out.append(_problem("images.url", img.url, reason))
        elif img.url in seen:
            reason = "the same image URL twice; the second is ignored"
            out.append(_problem("images.url", img.url, reason, "warning"))
        seen.add(img.url)


def _sale_problems(listing: Listing, most: _Limits, out: _Out) -> None:
    if listing.status is not ListingStatus.SOLD:
        return
    if listing.sale is None:
        out.append(_problem("sale", None, "status is sold but no sale price and date are given"))
    elif listing.sale.price <= 0 or listing.sale.price > most.get("sale.price", MAX_PRICE_SEK):
        reason = "sale price must be positive and plausible"
        out.append(_problem("sale.price", listing.sale.price, reason))


def _image_right_problems(listing: Listing, most: _Limits, out: _Out) -> None:
    right = listing.image_right
    if (
        right is not None
        and right.photo_agency is PhotoAgency.FREELANCE
        and not right.photo_agency_name
    ):
        # Attributed to "a freelancer" with no name is no attribution, and what Hemnet
        # answers to it is unknown: the record waits for the name (the right last sent,
        # and the rest of the listing, stay as they are).
        reason = "the photo agency is FREELANCE but the freelance photographer's name is missing"
        out.append(_problem("image_right.photo_agency_name", None, reason))


def _apartment_problems(listing: Listing, most: _Limits, out: _Out) -> None:
    if (
        listing.housing_form is HousingForm.APARTMENT
        and listing.tenure in (Tenure.CONDOMINIUM, Tenure.OWNERSHIP_APARTMENT)
        and not listing.address.apartment_number
    ):
        reason = "apartments need an apartment number before Hemnet lets them be published"
        out.append(_problem("address.apartment_number", None, reason, "warning"))


# Every check, in the order its problems are reported.
_CHECKS: tuple[Callable[[Listing, _Limits, _Out], None], ...] = (
    _key_problems,
    _address_problems,
    _number_problems,
    _fact_problems,
    _limit_problems,
    _image_problems,
    _sale_problems,
    _image_right_problems,
    _apartment_problems,
)


def problems(listing: Listing, limits: _Limits | None = None) -> list[Problem]:
    """Everything that makes a record unusable (errors) or doubtful (warnings).

    ``limits``: largest plausible values that replace ``PLAUSIBLE_MAX``'s, by field.
    """
    most = {**PLAUSIBLE_MAX, **limits} if limits else PLAUSIBLE_MAX
    out: list[Problem] = []
    for check in _CHECKS:
        check(listing, most, out)
    return out


def _texts_with_limits(listing: Listing) -> Iterable[tuple[str, str | None, int]]:
    """(field, text, Hemnet's limit) of every text of the listing that Hemnet bounds."""
    short = hemnet_limits.SHORT_TEXT_MAX
    yield "listing_key", listing.listing_key, hemnet_limits.EXTERNAL_ID_MAX
    yield "agency_key", listing.agency_key, hemnet_limits.EXTERNAL_ID_MAX
    yield "title", listing.title, short
    yield "description", listing.description, hemnet_limits.DESCRIPTION_MAX
    address = listing.address
    yield "address.street", address.street, short
    yield "address.postal_code", address.postal_code, hemnet_limits.POSTAL_CODE_MAX
    yield "address.city", address.city, short
    yield "address.municipality", address.municipality, short
    yield "address.apartment_number", address.apartment_number, hemnet_limits.APARTMENT_NUMBER_MAX
    if listing.broker is not None:
        yield "broker.name", listing.broker.name, short
        yield "broker.email", listing.broker.email, short
        yield "broker.phone", listing.broker.phone, hemnet_limits.PHONE_MAX
    if listing.seller is not None:
        yield "seller.name", listing.seller.name, short
        yield "seller.email", listing.seller.email, short
        yield (
            "seller.identity_number",
            listing.seller.identity_number,
            hemnet_limits.IDENTITY_NUMBER_MAX,
        )
    if listing.billing is not None:
        yield "billing.recipient_name", listing.billing.recipient_name, short
        yield "billing.street", listing.billing.street, short
        yield "billing.postal_code", listing.billing.postal_code, hemnet_limits.POSTAL_CODE_MAX
        yield "billing.city", listing.billing.city, short
    if listing.image_right is not None:
        yield "image_right.photo_agency_name", listing.image_right.photo_agency_name, short
        yield "image_right.photographer", listing.image_right.photographer, short
    for viewing in listing.viewings:
        yield "viewings.note", viewing.note, short
    for img in listing.images:
        yield "images.url", img.url, hemnet_limits.IMAGE_URL_MAX
        yield "images.caption", img.caption, short


def _limit_value(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def hemnet_limit_problems(listing: Listing) -> list[Problem]:
    """Values Hemnet would refuse with a 400 (``limits``): errors, so the record is skipped and
    the listing keeps its last good state instead of failing on Hemnet."""
    out: list[Problem] = []
    for name, text, limit in _texts_with_limits(listing):
        if text is not None and len(text) > limit:
            reason = f"longer than Hemnet's limit of {limit:,} characters ({len(text):,})"
            out.append(Problem(name, _limit_value(text), reason))
    # Negative areas and rooms are refused by ``problems`` already, as implausible.
    ranges: tuple[tuple[str, Any, float, float], ...] = (
        ("supplemental_area", listing.supplemental_area, -math.inf, hemnet_limits.AREA_MAX),
        ("plot_area", listing.plot_area, -math.inf, hemnet_limits.AREA_MAX),
        ("rooms", listing.rooms, -math.inf, hemnet_limits.ROOMS_MAX),
        ("floor", listing.floor, hemnet_limits.FLOOR_MIN, hemnet_limits.FLOOR_MAX),
    )
    for name, value, low, high in ranges:
        if value is not None and not low <= value <= high:
            reason = (
                f"more than Hemnet's limit of {high:,}"
                if low == -math.inf
                else f"outside Hemnet's range {low:,} to {high:,}"
            )
            out.append(Problem(name, str(value), reason))
    if len(listing.viewings) > hemnet_limits.VIEWINGS_MAX:
        reason = f"more than Hemnet's limit of {hemnet_limits.VIEWINGS_MAX} viewings"
        out.append(Problem("viewings", str(len(listing.viewings)), reason))
    return out
