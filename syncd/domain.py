"""The canonical listing a Swedish broker publishes, and the words of the glossary.

Value types only: standard library, no I/O, no clock. Everything that reads a CRM export
produces these; everything that talks to Hemnet consumes them. ``content_hash`` and its
siblings must stay stable across runs, processes and Python versions, because stored
hashes decide whether anything is sent.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import operator
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from syncd import limits as hemnet_limits


class ListingStatus(enum.StrEnum):
    """What the CRM wants for a listing."""

    FOR_SALE = "for_sale"
    UPCOMING = "upcoming"  # Kommande: shown on Hemnet as coming for sale
    TEASED = "teased"  # Underhand: marketed to Hemnet's users before the public sale
    SOLD = "sold"
    WITHDRAWN = "withdrawn"


# The statuses that keep a listing on Hemnet (created, published, kept up to date).
ACTIVE_STATUSES = (ListingStatus.FOR_SALE, ListingStatus.UPCOMING, ListingStatus.TEASED)


class HousingForm(enum.StrEnum):
    """Boendeform: what kind of home it is."""

    APARTMENT = "apartment"  # lägenhet
    HOUSE = "house"  # villa
    TERRACED_HOUSE = "terraced_house"  # radhus
    SEMI_DETACHED_HOUSE = "semi_detached_house"  # parhus
    LINKED_HOUSE = "linked_house"  # kedjehus
    HOLIDAY_HOME = "holiday_home"  # fritidshus
    PLOT = "plot"  # tomt
    FARM = "farm"  # gård
    OTHER = "other"


class Tenure(enum.StrEnum):
    """Upplåtelseform: how the home is owned."""

    CONDOMINIUM = "condominium"  # bostadsrätt
    FREEHOLD = "freehold"  # äganderätt
    OWNERSHIP_APARTMENT = "ownership_apartment"  # ägarlägenhet
    LEASEHOLD = "leasehold"  # tomträtt
    COOPERATIVE = "cooperative"  # andelsrätt
    RENTAL = "rental"  # hyresrätt


class SellerType(enum.StrEnum):
    """Hemnet's ``sellerType`` values (DOC, changelog 043)."""

    INDIVIDUAL = "INDIVIDUAL"
    HOUSING_COOPERATIVE = "HOUSING_COOPERATIVE"
    DEVELOPER = "DEVELOPER"
    ESTATE = "ESTATE"
    LEGAL_GUARDIAN = "LEGAL_GUARDIAN"
    ORGANISATION = "ORGANISATION"


class ImageRightTerms(enum.StrEnum):
    """How long Hemnet may show a listing's images after the sale (``terms``, DOC, 042)."""

    NO_LICENSE = "NO_LICENSE"
    SIX_MONTHS_LICENSE = "SIX_MONTHS_LICENSE"
    INDEFINITE_LICENSE = "INDEFINITE_LICENSE"


class PhotoAgency(enum.StrEnum):
    """Who took a listing's photos (``photoAgency``, DOC, changelog 042)."""

    HF_AGENCY = "HF_AGENCY"
    DIAKRIT = "DIAKRIT"
    SE360 = "SE360"
    PERFECT_SHOT = "PERFECT_SHOT"
    FREELANCE = "FREELANCE"  # a freelance photographer, named in photo_agency_name
    OWNER_TAKEN = "OWNER_TAKEN"  # the seller took them


ENERGY_CLASSES = hemnet_limits.ENERGY_CLASSES


@dataclass(frozen=True, slots=True)
class Address:
    street: str
    postal_code: str | None = None
    city: str | None = None
    municipality: str | None = None
    apartment_number: str | None = None  # lägenhetsnummer, four digits, e.g. "1102"


@dataclass(frozen=True, slots=True)
class Coordinates:
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Image:
    """One picture of a listing, identified by its source URL.

    ``revision`` lets an export say "new bytes behind the same URL" (a changed checksum or
    modification stamp): a different revision means the image is sent again.
    """

    url: str
    caption: str | None = None
    order: int = 0
    is_floor_plan: bool = False
    revision: str | None = None


@dataclass(frozen=True, slots=True)
class Sale:
    price: int
    price_is_public: bool
    sold_on: date


@dataclass(frozen=True, slots=True)
class Viewing:
    starts_at: datetime
    ends_at: datetime | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Broker:
    name: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class SellerInformation:
    """Write-only on Hemnet: sent once per change, never read back."""

    name: str
    email: str | None = None
    # personnummer / organisationsnummer: kept out of repr so a logged listing never shows it
    identity_number: str | None = field(default=None, repr=False)
    seller_type: SellerType | None = None


@dataclass(frozen=True, slots=True)
class BillingInformation:
    recipient_name: str
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None


@dataclass(frozen=True, slots=True)
class ImageRight:
    """Bildrätt: who took the photos and how long Hemnet may show them (one per listing).

    Hemnet's PUT keeps the fields it is not sent, so a field the CRM stops giving is only
    cleared by deleting the right first (plan.py).
    """

    terms: ImageRightTerms | None = None
    photo_agency: PhotoAgency | None = None
    photo_agency_name: str | None = None  # the freelance photographer, with FREELANCE
    photographer: str | None = None  # who took the photos (wire name ASSUMED)


@dataclass(frozen=True, slots=True)
class Agency:
    """The broker agency (mäklarföretag) listings are published under."""

    key: str
    name: str
    organisation_number: str | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """One listing as the CRM wants it on Hemnet (the desired state)."""

    listing_key: str
    agency_key: str
    status: ListingStatus
    address: Address
    housing_form: HousingForm | None = None
    tenure: Tenure | None = None
    coordinates: Coordinates | None = None
    asking_price: int | None = None  # SEK
    monthly_fee: int | None = None  # avgift, SEK per month
    operating_cost: int | None = None  # driftkostnad, SEK per year
    living_area: Decimal | None = None  # boarea, m²
    supplemental_area: Decimal | None = None  # biarea, m²
    plot_area: Decimal | None = None  # tomtarea, m²
    rooms: Decimal | None = None  # 2.5 rooms is common
    floor: int | None = None
    construction_year: int | None = None
    energy_class: str | None = None
    new_construction: bool = False
    title: str | None = None
    description: str | None = None
    images: tuple[Image, ...] = ()
    viewings: tuple[Viewing, ...] = ()
    broker: Broker | None = None
    seller: SellerInformation | None = None
    billing: BillingInformation | None = None
    sale: Sale | None = None
    image_right: ImageRight | None = None


# Fields that belong to the listing body Hemnet holds (what UpdateListing can change).
# Images, sale, seller and billing information and the image right travel on their own
# endpoints and hashes.
SEPARATELY_SENT = frozenset(
    {"listing_key", "agency_key", "status", "images", "sale", "seller", "billing", "image_right"}
)
LISTING_FIELDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(Listing) if f.name not in SEPARATELY_SENT
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The listings parsed from one export file."""

    export_file: str
    full: bool  # a full export lists every current listing of its agencies
    agency_keys: frozenset[str]
    listings: tuple[Listing, ...]


# --- normalisation -----------------------------------------------------------------------

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# An id is sent to Hemnet, stored, logged and shown: no control character at all (a NUL
# would end a C string, a newline forge a log line), unlike text, where \t \n \r are fine.
_KEY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NOT_A_PLAIN_SPACE = r"[^\S ]"  # tabs, newlines, no-break spaces, ...
# Either of those: one search instead of two on every value that is already clean.
_NOT_CLEAN = re.compile(f"{_NOT_A_PLAIN_SPACE}|{_CONTROL.pattern}")
_NON_DIGIT = re.compile(r"\D")
_TENTH = Decimal("0.1")


def _is_clean(value: str) -> bool:
    """True when ``clean_text`` (and so ``clean_line``) would return ``value`` unchanged."""
    return (
        not value[0].isspace()
        and not value[-1].isspace()
        and "  " not in value
        # Printable text has neither (only the ASCII space is a printable blank); a C loop
        # where the search is a regex step per character.
        and (value.isprintable() or not _NOT_CLEAN.search(value))
        and unicodedata.is_normalized("NFC", value)
    )


def clean_text(value: str | None) -> str | None:
    """NFC, trimmed, inner runs of blanks folded; empty becomes None."""
    if value is None:
        return None
    if not value:
        return None
    if _is_clean(value):  # most values: the same result as below, several times faster
        return value
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    # NUL and other control characters come from broken exports, never from a broker.
    text = _CONTROL.sub("", text)
    lines = [_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    folded = "\n".join(lines).strip()
    folded = re.sub(r"\n{3,}", "\n\n", folded)
    return folded or None


def clean_line(value: str | None) -> str | None:
    """Like ``clean_text`` but one line: titles, names, street addresses."""
    if value and _is_clean(value):
        return value  # no blank but single plain spaces: folding would change nothing
    text = clean_text(value)
    return _SPACE.sub(" ", text) if text else None


def _area(value: Decimal | None) -> Decimal | None:
    # One decimal is what Swedish listings print (72,5 m²); more is noise from conversions.
    if value is None:
        return None
    tenths = value.quantize(_TENTH)
    # The same digits and exponent: keep the object, so an unchanged listing is not copied.
    return value if tenths.compare_total(value) == 0 else tenths


def _normal_image(img: Image, position: int) -> Image:
    url, caption = img.url.strip(), clean_line(img.caption)
    if url == img.url and caption == img.caption and position == img.order:
        return img  # already canonical: skip the copy (ingest normalises every image)
    return dataclasses.replace(img, url=url, caption=caption, order=position)


def _normal_address(addr: Address) -> Address:
    postal = _NON_DIGIT.sub("", addr.postal_code) if addr.postal_code else None
    street = clean_line(addr.street) or ""
    postal_code = postal or None
    city = clean_line(addr.city)
    municipality = clean_line(addr.municipality)
    apartment_number = clean_line(addr.apartment_number)
    if (
        street is addr.street
        and postal_code is addr.postal_code
        and city is addr.city
        and municipality is addr.municipality
        and apartment_number is addr.apartment_number
    ):
        return addr
    return Address(street, postal_code, city, municipality, apartment_number)


def _normal_coordinates(coordinates: Coordinates | None) -> Coordinates | None:
    if coordinates is None:
        return None
    old_latitude, old_longitude = coordinates.latitude, coordinates.longitude
    latitude, longitude = round(old_latitude, 6), round(old_longitude, 6)
    if (
        type(latitude) is type(old_latitude)
        and type(longitude) is type(old_longitude)
        and latitude == old_latitude
        and longitude == old_longitude
    ):
        return coordinates  # already at most six decimals (round keeps the sign of zero)
    return Coordinates(latitude, longitude)


def _same_items(new: tuple[Any, ...], old: tuple[Any, ...]) -> tuple[Any, ...]:
    """``old`` when ``new`` holds the very same objects in the same order (no copy kept)."""
    if type(old) is tuple and len(new) == len(old) and all(map(operator.is_, new, old)):
        return old
    return new


def _normal_energy_class(value: str | None) -> str | None:
    normal = value.strip().upper() if value else None
    return value if normal == value else normal  # upper() copies even an upper-case text


def _normal_image_right(right: ImageRight | None) -> ImageRight | None:
    if right is None:
        return None
    name, photographer = clean_line(right.photo_agency_name), clean_line(right.photographer)
    if name is right.photo_agency_name and photographer is right.photographer:
        normal = right
    else:
        normal = dataclasses.replace(right, photo_agency_name=name, photographer=photographer)
    return None if normal == _NO_IMAGE_RIGHT else normal  # nothing said: no right at all


_NO_IMAGE_RIGHT = ImageRight()
_LISTING_INIT_ORDER = tuple(f.name for f in dataclasses.fields(Listing))


def normalise(listing: Listing) -> Listing:
    """The canonical form: equal meaning gives equal values and so equal hashes."""
    images = tuple(
        _normal_image(img, position)
        for position, img in enumerate(sorted(listing.images, key=lambda i: i.order))
    )
    changes: dict[str, Any] = {
        "listing_key": listing.listing_key.strip(),
        "agency_key": listing.agency_key.strip(),
        "address": _normal_address(listing.address),
        "coordinates": _normal_coordinates(listing.coordinates),
        "living_area": _area(listing.living_area),
        "supplemental_area": _area(listing.supplemental_area),
        "plot_area": _area(listing.plot_area),
        "rooms": _area(listing.rooms),
        "energy_class": _normal_energy_class(listing.energy_class),
        "title": clean_line(listing.title),
        "description": clean_text(listing.description),
        "images": _same_items(images, listing.images),
        "viewings": _same_items(
            tuple(sorted(listing.viewings, key=lambda v: v.starts_at)), listing.viewings
        ),
        "image_right": _normal_image_right(listing.image_right),
    }
    # Most exports are already canonical: then the listing itself is the answer, and
    # otherwise one positional construction (dataclasses.replace costs twice as much).
    if all(value is getattr(listing, name) for name, value in changes.items()):
        return listing
    return Listing(*[changes.get(name, getattr(listing, name)) for name in _LISTING_INIT_ORDER])


# --- validation --------------------------------------------------------------------------


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


def problems(listing: Listing, limits: Mapping[str, Decimal | int] | None = None) -> list[Problem]:
    """Everything that makes a record unusable (errors) or doubtful (warnings).

    ``limits``: largest plausible values that replace ``PLAUSIBLE_MAX``'s, by field.
    """
    out: list[Problem] = []
    most = {**PLAUSIBLE_MAX, **limits} if limits else PLAUSIBLE_MAX

    def err(name: str, value: object, reason: str, severity: str = "error") -> None:
        out.append(Problem(name, None if value is None else str(value)[:200], reason, severity))

    if not listing.listing_key:
        err("listing_key", listing.listing_key, "missing listing key")
    if not listing.agency_key:
        err("agency_key", listing.agency_key, "missing agency key")
    for name in ("listing_key", "agency_key"):
        key = getattr(listing, name)
        if _KEY_CONTROL.search(key):
            # Shown escaped: the raw value would carry the control character along.
            shown = key.encode("unicode_escape").decode("ascii")
            err(name, shown, "contains a control character (such as NUL or a line break)")
    if not listing.address.street:
        err("address.street", listing.address.street, "missing street address")
    if listing.address.postal_code and not re.fullmatch(r"\d{5}", listing.address.postal_code):
        err(
            "address.postal_code",
            listing.address.postal_code,
            "a Swedish postal code has five digits",
            "warning",
        )
    for name in ("asking_price", "monthly_fee", "operating_cost"):
        value = getattr(listing, name)
        if value is not None and value < 0:
            err(name, value, "must not be negative")
        elif value is not None and name in most and value > most[name]:
            err(name, value, f"more than {most[name]:,} SEK is not a plausible amount")
    for name in ("living_area", "supplemental_area", "plot_area", "rooms"):
        value = getattr(listing, name)
        if value is not None and value < 0:
            err(name, value, "must not be negative")
        elif value is not None and name in most and value > most[name]:
            err(name, value, f"more than {most[name]:,} {_UNITS[name]} is not plausible")
    if listing.construction_year is not None and not 1000 <= listing.construction_year <= 2100:
        err("construction_year", listing.construction_year, "not a plausible year")
    if listing.energy_class is not None and listing.energy_class not in ENERGY_CLASSES:
        err("energy_class", listing.energy_class, f"must be one of {', '.join(ENERGY_CLASSES)}")
    if listing.coordinates is not None:
        lat, lon = listing.coordinates.latitude, listing.coordinates.longitude
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            err("coordinates", f"{lat},{lon}", "latitude or longitude out of range")
    out.extend(hemnet_limit_problems(listing))
    seen: set[str] = set()
    for img in listing.images:
        if not _URL.match(img.url):
            err("images.url", img.url, "image URL must be absolute http(s) without spaces")
        elif img.url in seen:
            err("images.url", img.url, "the same image URL twice; the second is ignored", "warning")
        seen.add(img.url)
    if listing.status is ListingStatus.SOLD:
        if listing.sale is None:
            err("sale", None, "status is sold but no sale price and date are given")
        elif listing.sale.price <= 0 or listing.sale.price > most.get("sale.price", MAX_PRICE_SEK):
            err("sale.price", listing.sale.price, "sale price must be positive and plausible")
    right = listing.image_right
    if (
        right is not None
        and right.photo_agency is PhotoAgency.FREELANCE
        and not right.photo_agency_name
    ):
        # Attributed to "a freelancer" with no name is no attribution, and what Hemnet
        # answers to it is unknown: the record waits for the name (the right last sent,
        # and the rest of the listing, stay as they are).
        err(
            "image_right.photo_agency_name",
            None,
            "the photo agency is FREELANCE but the freelance photographer's name is missing",
        )
    if (
        listing.housing_form is HousingForm.APARTMENT
        and listing.tenure in (Tenure.CONDOMINIUM, Tenure.OWNERSHIP_APARTMENT)
        and not listing.address.apartment_number
    ):
        err(
            "address.apartment_number",
            None,
            "apartments need an apartment number before Hemnet lets them be published",
            "warning",
        )
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


# --- hashing -----------------------------------------------------------------------------


_AS_IS = frozenset({str, int, bool, type(None)})
# How each exact type becomes plain, decided once per type: the checks below (dataclass? enum?
# Decimal? ...) depend only on the type, and running them per value dominated hashing time.
_PLAIN_OF: dict[type, Callable[[Any], Any]] = {}


def _plain(value: Any) -> Any:
    """A JSON-ready form whose text is the same on every run and platform."""
    kind = type(value)
    if kind in _AS_IS:  # exact types only: enums and other subclasses go on below
        return value
    convert = _PLAIN_OF.get(kind)
    if convert is None:
        convert = _PLAIN_OF[kind] = _plain_of(value)
    return convert(value)


def _plain_of(value: Any) -> Callable[[Any], Any]:
    """How values of ``type(value)`` become plain (the first of these checks that holds)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain_dataclass(tuple(f.name for f in dataclasses.fields(value)))
    if isinstance(value, enum.Enum):
        return lambda member: member.value
    if isinstance(value, Decimal):
        return lambda number: format(number.normalize(), "f")
    if isinstance(value, float):
        return repr
    if isinstance(value, datetime | date):
        return lambda moment: moment.isoformat()
    if isinstance(value, tuple | list):
        return lambda items: [v if type(v) in _AS_IS else _plain(v) for v in items]
    if isinstance(value, Mapping):
        return lambda table: {str(k): _plain(v) for k, v in table.items()}
    return lambda other: other


def _plain_dataclass(names: tuple[str, ...]) -> Callable[[Any], dict[str, Any]]:
    def plain(value: Any) -> dict[str, Any]:
        # Leaves inline: most fields are str, int, bool or None (a call each was half the time).
        out = {}
        for name in names:
            field_value = getattr(value, name)
            out[name] = field_value if type(field_value) in _AS_IS else _plain(field_value)
        return out

    return plain


def _digest(value: Any) -> str:
    return _digest_plain(_plain(value))


# json.dumps(plain, sort_keys=True, ensure_ascii=False, separators=(",", ":")), the text every
# stored hash was made from, with one encoder instead of a new one per call.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _digest_plain(plain: Any) -> str:
    text = _CANONICAL_JSON.encode(plain)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def listing_fields(listing: Listing) -> dict[str, Any]:
    """The fields Hemnet's listing body holds, by name (for partial updates and drift)."""
    return {name: getattr(listing, name) for name in LISTING_FIELDS}


def content_hash(listing: Listing) -> str:
    """Hash of the listing body, without images, sale, seller or billing information."""
    return _digest(listing_fields(listing))


def images_hash(images: Iterable[Image]) -> str:
    return _digest(list(images))


def sale_hash(sale: Sale | None) -> str | None:
    return None if sale is None else _digest(sale)


def seller_hash(seller: SellerInformation | None) -> str | None:
    return None if seller is None else _digest(seller)


def billing_hash(billing: BillingInformation | None) -> str | None:
    return None if billing is None else _digest(billing)


def image_right_hash(right: ImageRight | None) -> str | None:
    return None if right is None else _digest(right)


def to_plain(value: Any) -> Any:
    """The JSON form used for storing value types (see ``listing_from_plain``)."""
    return _plain(value)


def listing_from_plain(data: Mapping[str, Any]) -> Listing:
    """Inverse of ``to_plain`` for a Listing, used by the state store."""

    def opt(cls: Any, raw: Any) -> Any:
        return None if raw is None else cls(**raw)

    def dec(raw: Any) -> Decimal | None:
        return None if raw is None else Decimal(raw)

    addr = dict(data["address"])
    coords = data.get("coordinates")
    sale = data.get("sale")
    seller = data.get("seller")
    right = data.get("image_right")
    return Listing(
        listing_key=data["listing_key"],
        agency_key=data["agency_key"],
        status=ListingStatus(data["status"]),
        address=Address(**addr),
        housing_form=HousingForm(data["housing_form"]) if data.get("housing_form") else None,
        tenure=Tenure(data["tenure"]) if data.get("tenure") else None,
        coordinates=(
            Coordinates(float(coords["latitude"]), float(coords["longitude"])) if coords else None
        ),
        asking_price=data.get("asking_price"),
        monthly_fee=data.get("monthly_fee"),
        operating_cost=data.get("operating_cost"),
        living_area=dec(data.get("living_area")),
        supplemental_area=dec(data.get("supplemental_area")),
        plot_area=dec(data.get("plot_area")),
        rooms=dec(data.get("rooms")),
        floor=data.get("floor"),
        construction_year=data.get("construction_year"),
        energy_class=data.get("energy_class"),
        new_construction=bool(data.get("new_construction", False)),
        title=data.get("title"),
        description=data.get("description"),
        images=tuple(Image(**img) for img in data.get("images", ())),
        viewings=tuple(
            Viewing(
                starts_at=datetime.fromisoformat(v["starts_at"]),
                ends_at=datetime.fromisoformat(v["ends_at"]) if v.get("ends_at") else None,
                note=v.get("note"),
            )
            for v in data.get("viewings", ())
        ),
        broker=opt(Broker, data.get("broker")),
        seller=(
            SellerInformation(
                name=seller["name"],
                email=seller.get("email"),
                identity_number=seller.get("identity_number"),
                seller_type=SellerType(seller["seller_type"])
                if seller.get("seller_type")
                else None,
            )
            if seller
            else None
        ),
        billing=opt(BillingInformation, data.get("billing")),
        sale=(
            Sale(
                price=int(sale["price"]),
                price_is_public=bool(sale["price_is_public"]),
                sold_on=date.fromisoformat(sale["sold_on"]),
            )
            if sale
            else None
        ),
        image_right=image_right_from_plain(right),
    )


def image_right_from_plain(data: Mapping[str, Any] | None) -> ImageRight | None:
    """Inverse of ``to_plain`` for an ImageRight (None stays None)."""
    if data is None:
        return None
    terms, agency = data.get("terms"), data.get("photo_agency")
    return ImageRight(
        terms=ImageRightTerms(terms) if terms else None,
        photo_agency=PhotoAgency(agency) if agency else None,
        photo_agency_name=data.get("photo_agency_name"),
        photographer=data.get("photographer"),
    )


@dataclass(frozen=True, slots=True)
class Hashes:
    """The separate hashes of one listing; compared against what Hemnet confirmed."""

    content: str
    images: str
    sale: str | None
    seller: str | None
    billing: str | None
    image_right: str | None = None

    @classmethod
    def of(cls, listing: Listing) -> Hashes:
        return cls(
            content=content_hash(listing),
            images=images_hash(listing.images),
            sale=sale_hash(listing.sale),
            seller=seller_hash(listing.seller),
            billing=billing_hash(listing.billing),
            image_right=image_right_hash(listing.image_right),
        )

    @classmethod
    def of_plain(cls, plain: Mapping[str, Any]) -> Hashes:
        """``Hashes.of`` from ``to_plain(listing)``: the same hashes without walking the
        listing a second time (ingest needs the plain form anyway, to store it)."""

        def optional(name: str) -> str | None:
            part = plain.get(name)
            return None if part is None else _digest_plain(part)

        return cls(
            content=_digest_plain({name: plain[name] for name in LISTING_FIELDS}),
            images=_digest_plain(plain["images"]),
            sale=optional("sale"),
            seller=optional("seller"),
            billing=optional("billing"),
            image_right=optional("image_right"),
        )


# --- what Hemnet is known to have ---------------------------------------------------------


class ImageState(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


class MarketState(enum.StrEnum):
    FOR_SALE = "FOR_SALE"
    UPCOMING = "UPCOMING"
    TEASED = "TEASED"


# Hemnet attempts auto-approval at publish only in these market states (DOC, changelog 044:
# "only attempted for TEASED", the list may grow without notice): syncd asks for it only there.
AUTO_APPROVE_MARKET_STATES = frozenset({MarketState.TEASED})
# Publishing a sold listing within this time deletes the sale; later Hemnet refuses (DOC,
# changelog 010: six months, which Hemnet may shorten without notice). syncd counts from
# the contract date, on or before the day the sale was reported, so it refuses a little
# early rather than send a publish Hemnet would refuse.
REPUBLISH_WINDOW = timedelta(days=182)


@dataclass(frozen=True, slots=True)
class KnownImage:
    """One image as Hemnet has it."""

    url: str
    image_id: str
    state: ImageState
    order: int = 0
    caption: str | None = None
    revision: str | None = None
    state_message: str | None = None


@dataclass(frozen=True, slots=True)
class KnownListing:
    """What Hemnet is known to have for one listing_key (from outcomes, polls, reconcile).

    ``sent`` is the listing as last confirmed by Hemnet (applied): comparing it with the
    desired listing gives the changed fields without asking Hemnet again.
    """

    listing_key: str
    hemnet_id: str
    sent: Listing | None = None
    images: tuple[KnownImage, ...] = ()
    is_published: bool = False
    is_approved: bool = False
    market_state: MarketState | None = None
    allowed_market_states: frozenset[MarketState] = frozenset()
    sold: Sale | None = None
    seller_hash: str | None = None  # hash of the seller information last sent
    billing_hash: str | None = None
    image_right: ImageRight | None = None  # the image right last sent (None: none sent)
    approval_url: str | None = None
    # content hash of the desired listing an op was rejected for: nothing more is sent for
    # this listing until the CRM changes it (or an operator runs 'syncd retry KEY')
    rejected_hash: str | None = None

    @property
    def is_visible(self) -> bool:
        return self.is_published and self.is_approved


@dataclass(frozen=True, slots=True)
class KnownAgency:
    key: str
    hemnet_id: str


@dataclass(frozen=True)
class Desired:
    """Everything the CRM wants right now, with what the planner needs to guard removals."""

    listings: Mapping[str, Listing]
    agencies: Mapping[str, Agency]
    # listing_key -> when the listing was first missing from a full export of its agency
    missing_since: Mapping[str, datetime] = field(default_factory=dict)
    # listing_key -> the missing_since of the absence whose held removal an operator
    # released ('syncd hold release'): the release covers that absence only, so it ends
    # when the listing comes back and a later absence is judged by the guards again
    released_removals: Mapping[str, datetime] = field(default_factory=dict)
    # listing_key -> the content hash of a blanking update an operator released
    released_updates: Mapping[str, str] = field(default_factory=dict)
