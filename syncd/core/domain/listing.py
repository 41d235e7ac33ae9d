"""The canonical listing a Swedish broker publishes, and the words of the glossary.

Value types only: standard library, no I/O, no clock; the rules about them (normalising,
validating, hashing) live in the sibling modules, never here.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from syncd.core import limits as hemnet_limits


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
    cleared by deleting the right first (core/plan/).
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


def listing_fields(listing: Listing) -> dict[str, Any]:
    """The fields Hemnet's listing body holds, by name (for partial updates and drift)."""
    return {name: getattr(listing, name) for name in LISTING_FIELDS}
