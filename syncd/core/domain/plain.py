"""The plain (JSON-ready) form of value types, used to store them and to hash them.

Its text must be the same on every run, process and platform; no I/O.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from syncd.core.domain import listing

_AS_IS = frozenset({str, int, bool, type(None)})
# How each exact type becomes plain, decided once per type: the checks below (dataclass? enum?
# Decimal? ...) depend only on the type, so there is no reason to run them for every value.
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
        return lambda member: member._value_  # what .value gives, without its descriptor
    if isinstance(value, Decimal):
        return lambda number: format(number.normalize(), "f")
    if isinstance(value, float):
        return repr
    if isinstance(value, datetime | date):
        return lambda moment: moment.isoformat()
    if isinstance(value, tuple | list):
        return lambda items: [
            v if (c := type(v)) in _AS_IS else (_PLAIN_OF.get(c) or _plain)(v) for v in items
        ]
    if isinstance(value, Mapping):
        return lambda table: {str(k): _plain(v) for k, v in table.items()}
    return lambda other: other


def _plain_dataclass(names: tuple[str, ...]) -> Callable[[Any], dict[str, Any]]:
    """One function per dataclass, its fields spelled out: a loop over the names with getattr
    cost twice as much, and ingest turns every listing (and its parts) plain."""
    # Leaves inline: most fields are str, int, bool or None, which need no call.
    lines = [f"    f{n} = value.{name}" for n, name in enumerate(names)]
    items = ", ".join(
        f"{name!r}: f{n} if (c := type(f{n})) in as_is else (known.get(c) or convert)(f{n})"
        for n, name in enumerate(names)
    )
    source = "def plain(value):\n" + "\n".join(lines) + f"\n    return {{{items}}}\n"
    scope: dict[str, Any] = {"as_is": _AS_IS, "known": _PLAIN_OF, "convert": _plain}
    exec(source, scope)  # noqa: S102 (the source is built from a dataclass's field names)
    made: Callable[[Any], dict[str, Any]] = scope["plain"]
    return made


# The text of a plain form: compact, UTF-8 (no ASCII escapes), keys sorted where asked. orjson
# writes the same bytes as these json encoders for every plain form (str, int, bool, None,
# lists, dicts with str keys: floats and Decimals are strings already) at a tenth of the
# cost; stored hashes were made with json, so json stays for what orjson refuses (an int
# beyond 64 bits). tests/unit/test_plain_json.py holds the two to the same bytes.
_JSON_SORTED = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def plain_json(plain: Any, *, sort_keys: bool = False) -> bytes:
    """The UTF-8 JSON text of a plain form, the same bytes on every run and platform."""
    try:
        return orjson.dumps(plain, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except TypeError:  # orjson.JSONEncodeError: an int beyond 64 bits
        encoder = _JSON_SORTED if sort_keys else _JSON
        return encoder.encode(plain).encode("utf-8")


def to_plain(value: Any) -> Any:
    """The JSON form used for storing value types (see ``listing_from_plain``)."""
    return _plain(value)


def listing_from_plain(data: Mapping[str, Any]) -> listing.Listing:
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
    return listing.Listing(
        listing_key=data["listing_key"],
        agency_key=data["agency_key"],
        status=listing.ListingStatus(data["status"]),
        address=listing.Address(**addr),
        housing_form=(
            listing.HousingForm(data["housing_form"]) if data.get("housing_form") else None
        ),
        tenure=listing.Tenure(data["tenure"]) if data.get("tenure") else None,
        coordinates=(
            listing.Coordinates(float(coords["latitude"]), float(coords["longitude"]))
            if coords
            else None
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
        images=tuple(listing.Image(**img) for img in data.get("images", ())),
        viewings=tuple(
            listing.Viewing(
                starts_at=datetime.fromisoformat(v["starts_at"]),
                ends_at=datetime.fromisoformat(v["ends_at"]) if v.get("ends_at") else None,
                note=v.get("note"),
            )
            for v in data.get("viewings", ())
        ),
        broker=opt(listing.Broker, data.get("broker")),
        seller=(
            listing.SellerInformation(
                name=seller["name"],
                email=seller.get("email"),
                identity_number=seller.get("identity_number"),
                seller_type=listing.SellerType(seller["seller_type"])
                if seller.get("seller_type")
                else None,
            )
            if seller
            else None
        ),
        billing=opt(listing.BillingInformation, data.get("billing")),
        sale=(
            listing.Sale(
                price=int(sale["price"]),
                price_is_public=bool(sale["price_is_public"]),
                sold_on=date.fromisoformat(sale["sold_on"]),
            )
            if sale
            else None
        ),
        image_right=image_right_from_plain(right),
    )


def image_right_from_plain(data: Mapping[str, Any] | None) -> listing.ImageRight | None:
    """Inverse of ``to_plain`` for an ImageRight (None stays None)."""
    if data is None:
        return None
    terms, agency = data.get("terms"), data.get("photo_agency")
    return listing.ImageRight(
        terms=listing.ImageRightTerms(terms) if terms else None,
        photo_agency=listing.PhotoAgency(agency) if agency else None,
        photo_agency_name=data.get("photo_agency_name"),
        photographer=data.get("photographer"),
    )
