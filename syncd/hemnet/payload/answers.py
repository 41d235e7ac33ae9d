"""Hemnet JSON -> known state (``models``), strictly, through the names in ``wire.py``.

Pure translation: no I/O, no bodies to send (``bodies.py``). Parsers raise
``UnreadableAnswer`` (a ``ValueError``) on an answer they cannot read; the client turns that
into an ``ApiError``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from syncd.core.domain import (
    LISTING_FIELDS,
    Address,
    Broker,
    Coordinates,
    ImageState,
    MarketState,
    Viewing,
)
from syncd.hemnet import wire
from syncd.hemnet.models import (
    Checks,
    ImageRight,
    RemoteAgency,
    RemoteImage,
    RemoteKey,
    RemoteListing,
    RemoteSale,
)

# The name its log lines have always shown.
logger = logging.getLogger("syncd.hemnet.payload")

Json = dict[str, Any]


# --- wire -> known state ---------------------------------------------------------------------
#
# Strict: a field is read only if it has the type the wire contract gives it ("false" is not
# a boolean, 1e400 is not a price). Anything else raises ``UnreadableAnswer`` naming the
# field (a dotted path from the object read), which the client turns into an ApiError.
# An enum value syncd does not know is not an error (Hemnet says its enums may grow): it is
# read as "unknown" and noted in ``notes`` so the client can report it.

# Larger whole numbers do not survive JSON exactly, and SQLite stores 64 bits at most.
MAX_WHOLE = 2**53 - 1


class UnreadableAnswer(ValueError):
    """Hemnet's answer does not have the shape ``wire.py`` expects; ``field`` says where."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}" if field else why)
        self.field = field
        self.why = why

    def within(self, prefix: str) -> UnreadableAnswer:
        """The same problem, its field seen from the object holding this one."""
        return UnreadableAnswer(join(prefix, self.field), self.why)


Note = tuple[str, str]  # (field, what is odd about it): reported, not fatal


def join(prefix: str, name: str) -> str:
    if not prefix:
        return name
    if not name:
        return prefix
    return f"{prefix}{name}" if name.startswith("[") else f"{prefix}.{name}"


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__.replace("dict", "object")


def _shown(value: Any) -> str:
    """The kind and a short excerpt of a value, for an error naming what was there."""
    if isinstance(value, dict | list):
        return _kind(value)
    return f"{_kind(value)} {value!r:.40}"


class _Fields:
    """Typed reads of one JSON object; every failure names ``where.field``."""

    def __init__(self, data: Any, where: str = "", notes: list[Note] | None = None) -> None:
        if not isinstance(data, Mapping):
            raise UnreadableAnswer(where, f"expected an object, got {_kind(data)}")
        self.data = data
        self.where = where
        self.notes = notes

    def at(self, name: str) -> str:
        return join(self.where, name)

    def fail(self, name: str, why: str) -> UnreadableAnswer:
        return UnreadableAnswer(self.at(name), why)

    def note(self, name: str, why: str) -> None:
        logger.debug("Hemnet answer: %s: %s", self.at(name), why)
        if self.notes is not None:
            self.notes.append((self.at(name), why))

    def text(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None or isinstance(value, str):
            return value
        raise self.fail(name, f"expected a string, got {_shown(value)}")

    def ident(self, name: str = wire.ID, *, required: bool = True) -> str | None:
        value = self.data.get(name)
        # Ids are opaque strings (ASSUMED); a JSON integer id is read as its digits.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value:
            return value
        if value is None and not required:
            return None
        raise self.fail(name, "missing" if value is None else f"not an id ({_kind(value)})")

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name, default)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        raise self.fail(name, f"expected true or false, got {_shown(value)}")

    def whole(self, name: str) -> int | None:
        value = self.data.get(name)
        if value is None:
            return None
        return _whole(value, self.at(name))

    def number(self, name: str) -> float | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(name, f"expected a number, got {_shown(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(name, "not a finite number")
        if abs(value) > MAX_WHOLE:
            raise self.fail(name, "number out of range")
        return value

    def when(self, name: str) -> datetime | None:
        value = self.text(name)
        if not value:
            return None
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(name, f"not an ISO-8601 time: {value!r:.40}") from None

    def day(self, name: str) -> date | None:
        value = self.text(name)
        if not value:
            return None
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            raise self.fail(name, f"not a calendar date: {value!r:.40}") from None

    def obj(self, name: str) -> _Fields | None:
        value = self.data.get(name)
        return None if value is None else _Fields(value, self.at(name), self.notes)

    def items(self, name: str) -> list[Any]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(name, f"expected a list, got {_kind(value)}")
        return value


def _whole(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnreadableAnswer(field, f"expected a whole number, got {_shown(value)}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnreadableAnswer(field, "not a finite number")
        if not value.is_integer():
            raise UnreadableAnswer(field, f"not a whole number: {value!r}")
    if abs(value) > MAX_WHOLE:
        raise UnreadableAnswer(field, "number out of range")
    return int(value)


def unwrap(data: Any, key: str) -> Json:
    """The object under ``key`` in an answer such as ``{"listing": {...}}``."""
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        raise UnreadableAnswer(key, "answer has no such object")
    inner: Json = data[key]
    return inner


def unwrap_list(data: Any, key: str) -> list[Any]:
    """The list under ``key``; its items are checked one by one by the caller."""
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise UnreadableAnswer(key, "answer has no such list")
    return list(data[key])


def item_id(data: Any) -> str | None:
    """The id of a list item, when it can be read at all (to report or de-duplicate it)."""
    if not isinstance(data, Mapping):
        return None
    value = data.get(wire.ID)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value else None


def _market_state(f: _Fields, name: str, value: Any) -> MarketState | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise f.fail(name, f"expected a string, got {_kind(value)}")
    state = wire.MARKET_STATES_BACK.get(value)
    if state is None:
        # Hemnet warns the list of states may grow: reported, and read as unknown.
        f.note(name, f"unknown market state {value!r:.40}")
    return state


def key_from(data: Json, notes: list[Note] | None = None) -> RemoteKey:
    f = _Fields(data, "", notes)
    return RemoteKey(
        key_id=str(f.ident()),
        name=f.text(wire.NAME),
        created_at=f.when(wire.CREATED_AT),
        expires_at=f.when(wire.EXPIRES_AT),
        token=f.text(wire.TOKEN),
    )


def agency_from(data: Json, notes: list[Note] | None = None) -> RemoteAgency:
    f = _Fields(data, "", notes)
    return RemoteAgency(
        hemnet_id=str(f.ident()),
        name=f.text(wire.NAME) or "",
        organisation_number=f.text(wire.ORGANISATION_NUMBER),
        external_id=f.text(wire.EXTERNAL_ID),
        hq_partnership_agreement=f.flag(wire.HQ_PARTNERSHIP_AGREEMENT),
    )


def sale_from(data: Json, notes: list[Note] | None = None) -> RemoteSale:
    return _sale(_Fields(data, "", notes))


def _sale(f: _Fields) -> RemoteSale:
    price = f.whole(wire.SALE_PRICE)
    if price is None:
        raise f.fail(wire.SALE_PRICE, "missing")
    return RemoteSale(
        sale_id=str(f.ident()),
        listing_id=f.ident(wire.SALE_LISTING_ID, required=False),
        price=price,
        is_price_public=f.flag(wire.SALE_IS_PRICE_PUBLIC),
        contract_date=f.day(wire.SALE_CONTRACT_DATE),
        created_at=f.when(wire.CREATED_AT),
    )


def known_listing_from(data: Json, notes: list[Note] | None = None) -> RemoteListing:
    """Known state from a listing object (already unwrapped from ``{"listing": ...}``)."""
    f = _Fields(data, "", notes)
    hemnet_id = str(f.ident())
    status = f.obj(wire.PUBLICATION_STATUS) or _Fields({}, f.at(wire.PUBLICATION_STATUS), notes)
    is_published = status.flag(wire.IS_PUBLISHED)
    is_approved = status.flag(wire.IS_APPROVED)
    allowed = status.items(wire.ALLOWED_MARKET_STATES)
    market_state = _market_state(
        status, wire.MARKET_STATE_FIELD, status.data.get(wire.MARKET_STATE_FIELD)
    )
    allowed_states = frozenset(
        s
        for n, v in enumerate(allowed)
        if (s := _market_state(status, f"{wire.ALLOWED_MARKET_STATES}[{n}]", v)) is not None
    )
    sale = f.obj(wire.SALE_ONE)
    return RemoteListing(
        hemnet_id=hemnet_id,
        external_id=f.text(wire.EXTERNAL_ID),
        agency_id=f.ident(wire.AGENCY_ID, required=False),
        is_published=is_published,
        is_approved=is_approved,
        # isVisible is Hemnet's own word (DOC); derive it only when Hemnet leaves it out.
        is_visible=f.flag(wire.IS_VISIBLE, is_published and is_approved),
        market_state=market_state,
        allowed_market_states=allowed_states,
        approval_url=f.text(wire.APPROVAL_URL),
        url=f.text(wire.PUBLIC_URL),
        sale=_sale(sale) if sale is not None else None,
        raw=MappingProxyType(dict(data)),
    )


def image_from(data: Json, notes: list[Note] | None = None) -> RemoteImage:
    f = _Fields(data, "", notes)
    image_id = str(f.ident())
    raw_state = f.text(wire.IMAGE_STATE)
    state = wire.IMAGE_STATES_BACK.get(raw_state or "")
    if state is None:
        # Read as "not done yet", so nothing is published on it or re-added; reported so
        # the wait is never silent (docs/troubleshooting.md).
        f.note(wire.IMAGE_STATE, f"unknown image state {raw_state!r:.40}")
        state = ImageState.IN_PROGRESS
    message = f.text(wire.IMAGE_STATE_MESSAGE)
    return RemoteImage(
        image_id=image_id,
        url=f.text(wire.IMAGE_URL) or "",
        state=state,
        state_message=message.strip() or None if message else None,
        position=f.whole(wire.IMAGE_POSITION),
        caption=f.text(wire.IMAGE_CAPTION) or None,
        is_floor_plan=f.flag(wire.IMAGE_IS_FLOOR_PLAN),
    )


def _messages(f: _Fields, name: str) -> tuple[str, ...]:
    out = []
    for n, entry in enumerate(f.items(name)):
        if isinstance(entry, Mapping):
            text = _Fields(entry, f.at(f"{name}[{n}]")).text(wire.ERROR_MESSAGE)
        elif isinstance(entry, str):
            text = entry
        else:
            raise f.fail(f"{name}[{n}]", f"expected a message, got {_kind(entry)}")
        if text is not None and text.strip():
            out.append(text.strip())  # Hemnet's messages end in "\n"
    return tuple(out)


def checks_from(data: Json, notes: list[Note] | None = None) -> Checks:
    f = _Fields(data, "", notes)
    return Checks(
        errors=_messages(f, wire.CHECKS_ERRORS),
        warnings=_messages(f, wire.CHECKS_WARNINGS),
    )


def image_right_from(data: Json, notes: list[Note] | None = None) -> ImageRight:
    f = _Fields(data, "", notes)
    return ImageRight(
        terms=f.text(wire.IMAGE_RIGHT_TERMS),
        photo_agency=f.text(wire.IMAGE_RIGHT_PHOTO_AGENCY),
        photo_agency_name=f.text(wire.IMAGE_RIGHT_PHOTO_AGENCY_NAME),
        photographer=f.text(wire.IMAGE_RIGHT_PHOTOGRAPHER),
    )


def _decimal(f: _Fields, name: str) -> Decimal | None:
    value = f.number(name)
    # Through str() so 72.5 reads back as Decimal("72.5"), not its binary expansion.
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.1"))


def _enum_back(f: _Fields, name: str, back: Mapping[str, Any]) -> Any:
    value = f.text(name)
    if value is None:
        return None
    known = back.get(value)
    if known is None:
        f.note(name, f"unknown value {value!r:.40}")
    return known


def listing_fields_from(data: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical listing fields (as ``domain.listing_fields``) from a listing object.

    For drift detection: equal to ``listing_fields(normalise(listing))`` when Hemnet holds
    what syncd sent. Unknown enum values read as None (and are logged); a value of the
    wrong type raises ``UnreadableAnswer`` naming the field.
    """
    names = wire.LISTING_FIELD_NAMES
    f = _Fields(data)
    addr = f.obj(names["address"]) or _Fields({}, names["address"])
    coords = f.obj(names["coordinates"])
    energy = f.obj(names["energy_class"])
    broker = f.obj(names["broker"])
    viewings = []
    for n, item in enumerate(f.items(names["viewings"])):
        v = _Fields(item, f.at(f"{names['viewings']}[{n}]"))
        starts_at = v.when(wire.VIEWING_STARTS_AT)
        if starts_at is None:
            raise v.fail(wire.VIEWING_STARTS_AT, "missing")
        viewings.append(
            Viewing(
                starts_at=starts_at,
                ends_at=v.when(wire.VIEWING_ENDS_AT),
                note=v.text(wire.VIEWING_NOTE),
            )
        )
    coordinates = None
    if coords is not None:
        lat, lon = coords.number(wire.LATITUDE), coords.number(wire.LONGITUDE)
        if lat is None or lon is None:
            raise coords.fail(wire.LATITUDE if lat is None else wire.LONGITUDE, "missing")
        coordinates = Coordinates(float(lat), float(lon))
    out: dict[str, Any] = {
        "address": Address(
            street=addr.text(wire.STREET_ADDRESS) or "",
            postal_code=addr.text(wire.POSTAL_CODE),
            city=addr.text(wire.CITY),
            municipality=addr.text(wire.MUNICIPALITY),
            apartment_number=addr.text(wire.APARTMENT_NUMBER),
        ),
        "housing_form": _enum_back(f, names["housing_form"], wire.HOUSING_FORMS_BACK),
        "tenure": _enum_back(f, names["tenure"], wire.TENURES_BACK),
        "coordinates": coordinates,
        "energy_class": energy.text(wire.ENERGY_CLASS) if energy is not None else None,
        "new_construction": f.flag(names["new_construction"]),
        "viewings": tuple(viewings),
        "broker": (
            Broker(
                name=broker.text(wire.BROKER_NAME) or "",
                email=broker.text(wire.BROKER_EMAIL),
                phone=broker.text(wire.BROKER_PHONE),
            )
            if broker is not None
            else None
        ),
    }
    for name in ("living_area", "supplemental_area", "plot_area", "rooms"):
        out[name] = _decimal(f, names[name])
    for name in ("asking_price", "monthly_fee", "operating_cost", "floor", "construction_year"):
        out[name] = f.whole(names[name])
    for name in ("title", "description"):
        out[name] = f.text(names[name])
    return {name: out[name] for name in LISTING_FIELDS}
