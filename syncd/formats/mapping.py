"""Mappings: how one export format's records become canonical listing fields.

The frozen data a mapping file loads into (``mapping_file`` loads and validates it) and the
canonical fields with their kinds. Reads no export files and converts no values; see
``assemble`` for that.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from syncd.core.domain import (
    HousingForm,
    ImageRightTerms,
    ListingStatus,
    PhotoAgency,
    SellerType,
    Tenure,
)

log = logging.getLogger(__name__)

FORMATS = ("xml", "csv", "blm")

# Every canonical field a mapping can fill, with the kind of value it takes.
FIELD_KINDS: dict[str, str] = {
    "listing_key": "text",
    "agency_key": "text",
    # The agency's own facts, when the export carries them (OpenImmo's <firma>, say).
    "agency.name": "text",
    "agency.organisation_number": "text",
    "status": "enum",
    "address.street": "text",
    "address.postal_code": "text",
    "address.city": "text",
    "address.municipality": "text",
    "address.apartment_number": "text",
    "coordinates.latitude": "coordinate",
    "coordinates.longitude": "coordinate",
    "housing_form": "enum",
    "tenure": "enum",
    "asking_price": "int",
    "monthly_fee": "int",
    "operating_cost": "int",
    "living_area": "decimal",
    "supplemental_area": "decimal",
    "plot_area": "decimal",
    "rooms": "decimal",
    "floor": "int",
    "construction_year": "int",
    "energy_class": "text",
    "new_construction": "bool",
    "title": "text",
    "description": "text",
    "broker.name": "text",
    "broker.email": "text",
    "broker.phone": "text",
    "seller.name": "text",
    "seller.email": "text",
    "seller.identity_number": "text",
    "seller.seller_type": "enum",
    "billing.recipient_name": "text",
    "billing.street": "text",
    "billing.postal_code": "text",
    "billing.city": "text",
    "sale.price": "int",
    "sale.price_is_public": "bool",
    "sale.sold_on": "date",
    # Bildrätt: one per listing; sent when any of these is given (docs/mappings.md).
    "image_right.terms": "enum",
    "image_right.photo_agency": "enum",
    "image_right.photo_agency_name": "text",
    "image_right.photographer": "text",
    # Not a listing field: the currency of the money fields (SEK when not given).
    "currency": "text",
}
MONEY_FIELDS = ("asking_price", "monthly_fee", "operating_cost", "sale.price")
# The fields that say which listing a record is for and whose it is: read for every record,
# also one taken unread (fingerprint.py).
IDENTITY_FIELDS = ("listing_key", "agency_key", "agency.name", "agency.organisation_number")
# The number fields a mapping may give its own plausibility limit (domain.PLAUSIBLE_MAX).
LIMIT_FIELDS = (*MONEY_FIELDS, "living_area", "supplemental_area", "plot_area", "rooms")
ENUMS: dict[str, tuple[str, ...]] = {
    "status": tuple(s.value for s in ListingStatus),
    "housing_form": tuple(s.value for s in HousingForm),
    "tenure": tuple(s.value for s in Tenure),
    "seller.seller_type": tuple(s.value for s in SellerType),
    "image_right.terms": tuple(s.value for s in ImageRightTerms),
    "image_right.photo_agency": tuple(s.value for s in PhotoAgency),
    "mode": ("full", "incremental"),
}
IMAGE_KINDS: dict[str, str] = {
    "url": "text",
    "caption": "text",
    "order": "order",  # a number; a non-numeric id orders by appearance
    "floor_plan": "bool",
    "revision": "text",
}
VIEWING_KINDS: dict[str, str] = {"starts_at": "datetime", "ends_at": "end_time", "note": "text"}
REQUIRED_FIELDS = ("listing_key", "agency_key", "status", "address.street")

# A template's placeholders: "{strasse} {hausnummer}".
PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
# The XPath variable holding the current date as a number (20261205): "upcoming until".
TODAY = "today"
# A map value (or map_default) that means "ignore this record on purpose": counted as
# ignored, not as an error (a rental in a feed of homes for sale).
IGNORE = "@ignore"
REPEAT_INDEX = re.compile(r"\{n(?::(0?\d+)d?)?\}")

Expr = str | int  # XPath / column name, or a 1-based column position


@dataclass(frozen=True)
class FieldSpec:
    """Where one value comes from and how its text is read."""

    expr: Expr | None = None
    value: Any = None  # constant
    template: str | None = None  # "{geo/strasse} {geo/hausnummer}"
    concat: tuple[Expr, ...] = ()
    first_of: tuple[Expr, ...] = ()  # the first expression that gives a non-empty value
    separator: str = " "
    default: Any = None
    required: bool = False
    map: MappingABC[str, Any] | None = None  # raw value (case-insensitive) -> value
    map_default: Any = None  # for a raw value the map does not know; None: an error
    formats: tuple[str, ...] = ()
    decimal_separator: str | None = None
    html: bool = False
    multiple: str = "first"  # "first" non-empty value, or "join" them with separator

    def expressions(self) -> list[Expr]:
        """Every expression this spec reads (for validation)."""
        found: list[Expr] = [] if self.expr is None else [self.expr]
        found.extend(self.concat)
        found.extend(self.first_of)
        if self.template:
            found.extend(PLACEHOLDER.findall(self.template))
        return found


@dataclass(frozen=True)
class GroupSpec:
    """A repeating group: images or viewings.

    XML: ``each`` selects the repeated elements and the field expressions are relative to
    each. CSV/BLM: the field expressions are column names with ``{n}`` (or ``{n:02}``) in
    them, for n in ``start`` .. ``start + repeat - 1``; without ``repeat`` the group is one
    set of columns.
    """

    fields: MappingABC[str, FieldSpec]
    each: str | None = None
    repeat: int = 1
    start: int = 1


@dataclass(frozen=True)
class Mapping:
    name: str
    source: str  # the file it was loaded from
    format: str
    fields: MappingABC[str, FieldSpec]
    record: str | None = None
    namespaces: MappingABC[str, str] = field(default_factory=dict)
    encoding: str = "auto"
    delimiter: str = "auto"
    header: bool = True
    base_url: str | None = None
    mode: FieldSpec = field(default_factory=lambda: FieldSpec(value="full"))
    images: tuple[GroupSpec, ...] = ()
    viewings: tuple[GroupSpec, ...] = ()
    date_formats: tuple[str, ...] = ()
    decimal_separator: str | None = None
    # Whether a record carries only its key and what changed (kind bool; None: never).
    partial: FieldSpec | None = None
    # XML: record element name -> the mapping for records of that type (its field overrides
    # and partial rule applied). Empty: one type, ``record``.
    types: MappingABC[str, Mapping] = field(default_factory=dict)
    # XML: elements beside the records that are not records (not reported as unmatched).
    not_records: tuple[str, ...] = ()
    # Largest plausible value by field, replacing the domain's defaults.
    limits: MappingABC[str, Decimal] = field(default_factory=dict)
    # SEK per unit of a currency the export may use (the "currency" field).
    currency_rates: MappingABC[str, Decimal] = field(default_factory=dict)

    @property
    def record_tag(self) -> str:
        """The element name iterparse waits for (last step of ``record``)."""
        assert self.record is not None
        return self.record.rstrip("/").rsplit("/", 1)[-1]

    @property
    def record_tags(self) -> tuple[str, ...]:
        """Every record element name: the types', or ``record``'s last step."""
        return tuple(self.types) if self.types else (self.record_tag,)

    def for_tag(self, tag: str) -> Mapping:
        """The mapping of one record type (this one when there are no types)."""
        return self.types.get(tag, self)


def expand_repeat(expr: Expr, n: int) -> Expr:
    """Put the repeat index into a column name: "bild_{n}" -> "bild_3", "{n:02}" -> "03"."""
    if not isinstance(expr, str):
        return expr

    def fill(match: re.Match[str]) -> str:
        width = match.group(1)
        return f"{n:0{int(width)}d}" if width else str(n)

    return REPEAT_INDEX.sub(fill, expr)
