"""Domain values -> Hemnet JSON bodies, and Hemnet JSON -> known state (``models``).

Pure translation through the names in ``wire.py``; no I/O, no decisions about what to
send. Parsers raise ``ValueError`` on an answer they cannot read; the client turns that
into an ``ApiError``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from syncd.domain import (
    LISTING_FIELDS,
    Address,
    BillingInformation,
    Broker,
    Coordinates,
    ImageState,
    Listing,
    MarketState,
    SellerInformation,
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

logger = logging.getLogger(__name__)

Json = dict[str, Any]


class UnreadableAnswer(ValueError):
    """Hemnet's answer does not have the shape ``wire.py`` expects."""


# --- domain -> wire --------------------------------------------------------------------------


def _number(value: Decimal) -> int | float:
    # Whole numbers go out as integers (3 rooms, not 3.0); Hemnet types them as "number".
    return int(value) if value == value.to_integral_value() else float(value)


def _drop_none(data: Mapping[str, Any]) -> Json:
    return {k: v for k, v in data.items() if v is not None}


def _address(addr: Address) -> Json:
    # A nested object is replaced whole, so a part left out is cleared: no nulls inside.
    return _drop_none(
        {
            wire.STREET_ADDRESS: addr.street,
            wire.POSTAL_CODE: addr.postal_code,
            wire.CITY: addr.city,
            wire.MUNICIPALITY: addr.municipality,
            wire.APARTMENT_NUMBER: addr.apartment_number,
        }
    )


def _viewing(v: Viewing) -> Json:
    return _drop_none(
        {
            wire.VIEWING_STARTS_AT: v.starts_at.isoformat(),
            wire.VIEWING_ENDS_AT: v.ends_at.isoformat() if v.ends_at else None,
            wire.VIEWING_NOTE: v.note,
        }
    )


def _field_value(listing: Listing, name: str) -> Any:
    """The wire value of one canonical listing field (None stays None: null clears)."""
    value = getattr(listing, name)
    if value is None:
        return None
    if name == "address":
        return _address(value)
    if name == "coordinates":
        return {wire.LATITUDE: value.latitude, wire.LONGITUDE: value.longitude}
    if name == "housing_form":
        return wire.HOUSING_FORMS[value]
    if name == "tenure":
        return wire.TENURES[value]
    if name == "energy_class":
        return {wire.ENERGY_CLASS: value}
    if name == "viewings":
        return [_viewing(v) for v in value]
    if name == "broker":
        return _drop_none(
            {
                wire.BROKER_NAME: value.name,
                wire.BROKER_EMAIL: value.email,
                wire.BROKER_PHONE: value.phone,
            }
        )
    if isinstance(value, Decimal):
        return _number(value)
    return value


def listing_body(listing: Listing, agency_hemnet_id: str) -> Json:
    """The create body: every listing field that has a value, plus agency and external id."""
    fields: Json = {wire.AGENCY_ID: agency_hemnet_id, wire.EXTERNAL_ID: listing.listing_key}
    for name in LISTING_FIELDS:
        value = _field_value(listing, name)
        if value is None or value == []:
            continue
        fields[wire.LISTING_FIELD_NAMES[name]] = value
    return {wire.LISTING_ONE: fields}


def update_body(listing: Listing, changed: Iterable[str]) -> Json:
    """A partial-update body with only the ``changed`` canonical fields; None sends null."""
    fields: Json = {}
    for name in changed:
        if name not in wire.LISTING_FIELD_NAMES:
            raise ValueError(f"{name!r} is not a field of the listing body")
        value = _field_value(listing, name)
        # An emptied viewing list is sent as [] (no viewings), not as a cleared field.
        fields[wire.LISTING_FIELD_NAMES[name]] = value
    if not fields:
        raise ValueError("an update needs at least one changed field")
    return {wire.LISTING_ONE: fields}


def agency_body(name: str, organisation_number: str | None, external_id: str | None) -> Json:
    return {
        wire.AGENCY_ONE: _drop_none(
            {
                wire.NAME: name,
                wire.ORGANISATION_NUMBER: organisation_number,
                wire.EXTERNAL_ID: external_id,
            }
        )
    }


def key_body(name: str) -> Json:
    return {wire.KEY_ONE: {wire.NAME: name}}


def image_body(url: str, caption: str | None, position: int, is_floor_plan: bool) -> Json:
    return {
        wire.IMAGE_ONE: _drop_none(
            {
                wire.IMAGE_URL: url,
                wire.IMAGE_CAPTION: caption,
                wire.IMAGE_POSITION: position,
                wire.IMAGE_IS_FLOOR_PLAN: is_floor_plan,
            }
        )
    }


def image_update_body(position: int, caption: str | None) -> Json:
    # Both are always sent. The sandbox refuses null here, so an empty caption clears the
    # one Hemnet has (ASSUMED; docs/hemnet-wire.md does not say) and reads back as None.
    text = caption or wire.NO_CAPTION
    return {wire.IMAGE_ONE: {wire.IMAGE_POSITION: position, wire.IMAGE_CAPTION: text}}


def publish_body(allowed_auto_approve: bool | None) -> Json | None:
    if allowed_auto_approve is None:
        return None  # omitted keeps Hemnet's old behaviour (DOC)
    return {wire.ALLOWED_AUTO_APPROVE: allowed_auto_approve}


def market_state_body(state: MarketState) -> Json:
    return {wire.MARKET_STATE_FIELD: wire.MARKET_STATES[state]}


def sale_body(price: int, is_public: bool, contract_date: date) -> Json:
    return {
        wire.SALE_ONE: {
            wire.SALE_PRICE: price,
            wire.SALE_IS_PRICE_PUBLIC: is_public,
            wire.SALE_CONTRACT_DATE: contract_date.isoformat(),
        }
    }


def seller_body(seller: SellerInformation) -> Json:
    return {
        wire.SELLER_ONE: _drop_none(
            {
                wire.SELLER_NAME: seller.name,
                wire.SELLER_EMAIL: seller.email,
                wire.SELLER_IDENTITY_NUMBER: seller.identity_number,
                wire.SELLER_TYPE: seller.seller_type.value if seller.seller_type else None,
            }
        )
    }


def billing_body(billing: BillingInformation) -> Json:
    return {
        wire.BILLING_ONE: _drop_none(
            {
                wire.BILLING_RECIPIENT_NAME: billing.recipient_name,
                wire.BILLING_STREET_ADDRESS: billing.street,
                wire.BILLING_POSTAL_CODE: billing.postal_code,
                wire.BILLING_CITY: billing.city,
            }
        )
    }


def image_right_body(right: ImageRight) -> Json:
    # PUT is partial on Hemnet (DOC): a field left None keeps its value there.
    return {
        wire.IMAGE_RIGHT_ONE: _drop_none(
            {
                wire.IMAGE_RIGHT_TERMS: right.terms,
                wire.IMAGE_RIGHT_PHOTO_AGENCY: right.photo_agency,
                wire.IMAGE_RIGHT_PHOTO_AGENCY_NAME: right.photo_agency_name,
            }
        )
    }


# --- wire -> known state ---------------------------------------------------------------------


def unwrap(data: Any, key: str) -> Json:
    """The object under ``key`` in an answer such as ``{"listing": {...}}``."""
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        raise UnreadableAnswer(f"answer has no {key!r} object")
    inner: Json = data[key]
    return inner


def unwrap_list(data: Any, key: str) -> list[Json]:
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise UnreadableAnswer(f"answer has no {key!r} list")
    items = data[key]
    if not all(isinstance(item, dict) for item in items):
        raise UnreadableAnswer(f"{key!r} holds something other than objects")
    return list(items)


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


def _id(data: Mapping[str, Any]) -> str:
    value = data.get(wire.ID)
    if value is None or value == "":
        raise UnreadableAnswer("object without an id")
    return str(value)


def _datetime(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _date(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def _market_state(value: Any) -> MarketState | None:
    if value is None:
        return None
    state = wire.MARKET_STATES_BACK.get(str(value))
    if state is None:
        # Hemnet warns the list of states may grow; an unknown one is reported, not fatal.
        logger.warning("unknown market state %r from Hemnet", value)
    return state


def key_from(data: Json) -> RemoteKey:
    return RemoteKey(
        key_id=_id(data),
        name=_str(data, wire.NAME),
        created_at=_datetime(data.get(wire.CREATED_AT)),
        expires_at=_datetime(data.get(wire.EXPIRES_AT)),
        token=_str(data, wire.TOKEN),
    )


def agency_from(data: Json) -> RemoteAgency:
    return RemoteAgency(
        hemnet_id=_id(data),
        name=str(data.get(wire.NAME) or ""),
        organisation_number=_str(data, wire.ORGANISATION_NUMBER),
        external_id=_str(data, wire.EXTERNAL_ID),
        hq_partnership_agreement=bool(data.get(wire.HQ_PARTNERSHIP_AGREEMENT, False)),
    )


def sale_from(data: Json) -> RemoteSale:
    price = data.get(wire.SALE_PRICE)
    if not isinstance(price, int | float) or isinstance(price, bool):
        raise UnreadableAnswer("sale without a numeric price")
    return RemoteSale(
        sale_id=_id(data),
        listing_id=_str(data, wire.SALE_LISTING_ID),
        price=int(price),
        is_price_public=bool(data.get(wire.SALE_IS_PRICE_PUBLIC, False)),
        contract_date=_date(data.get(wire.SALE_CONTRACT_DATE)),
        created_at=_datetime(data.get(wire.CREATED_AT)),
    )


def known_listing_from(data: Json) -> RemoteListing:
    """Known state from a listing object (already unwrapped from ``{"listing": ...}``)."""
    status = data.get(wire.PUBLICATION_STATUS) or {}
    if not isinstance(status, dict):
        raise UnreadableAnswer("publicationStatus is not an object")
    allowed = status.get(wire.ALLOWED_MARKET_STATES) or []
    is_published = bool(status.get(wire.IS_PUBLISHED, False))
    is_approved = bool(status.get(wire.IS_APPROVED, False))
    sale = data.get(wire.SALE_ONE)
    return RemoteListing(
        hemnet_id=_id(data),
        external_id=_str(data, wire.EXTERNAL_ID),
        agency_id=_str(data, wire.AGENCY_ID),
        is_published=is_published,
        is_approved=is_approved,
        # isVisible is Hemnet's own word (DOC); derive it only when Hemnet leaves it out.
        is_visible=bool(data.get(wire.IS_VISIBLE, is_published and is_approved)),
        market_state=_market_state(status.get(wire.MARKET_STATE_FIELD)),
        allowed_market_states=frozenset(
            s for s in (_market_state(v) for v in allowed) if s is not None
        ),
        approval_url=_str(data, wire.APPROVAL_URL),
        url=_str(data, wire.PUBLIC_URL),
        sale=sale_from(sale) if isinstance(sale, dict) else None,
        raw=MappingProxyType(dict(data)),
    )


def image_from(data: Json) -> RemoteImage:
    raw_state = str(data.get(wire.IMAGE_STATE))
    state = wire.IMAGE_STATES_BACK.get(raw_state)
    if state is None:
        # Unknown means "not done yet" rather than a failure we cannot explain.
        logger.warning("unknown image state %r from Hemnet", raw_state)
        state = ImageState.IN_PROGRESS
    message = _str(data, wire.IMAGE_STATE_MESSAGE)
    position = data.get(wire.IMAGE_POSITION)
    return RemoteImage(
        image_id=_id(data),
        url=str(data.get(wire.IMAGE_URL) or ""),
        state=state,
        state_message=message.strip() if message else None,
        position=int(position) if position is not None else None,
        caption=_str(data, wire.IMAGE_CAPTION) or None,
        is_floor_plan=bool(data.get(wire.IMAGE_IS_FLOOR_PLAN, False)),
    )


def _messages(entries: Any) -> tuple[str, ...]:
    if not isinstance(entries, list):
        return ()
    out = []
    for entry in entries:
        text = entry.get(wire.ERROR_MESSAGE) if isinstance(entry, dict) else entry
        if text is not None and str(text).strip():
            out.append(str(text).strip())  # Hemnet's messages end in "\n"
    return tuple(out)


def checks_from(data: Json) -> Checks:
    return Checks(
        errors=_messages(data.get(wire.CHECKS_ERRORS)),
        warnings=_messages(data.get(wire.CHECKS_WARNINGS)),
    )


def image_right_from(data: Json) -> ImageRight:
    return ImageRight(
        terms=_str(data, wire.IMAGE_RIGHT_TERMS),
        photo_agency=_str(data, wire.IMAGE_RIGHT_PHOTO_AGENCY),
        photo_agency_name=_str(data, wire.IMAGE_RIGHT_PHOTO_AGENCY_NAME),
    )


def _decimal(value: Any) -> Decimal | None:
    # Through str() so 72.5 reads back as Decimal("72.5"), not its binary expansion.
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.1"))


def listing_fields_from(data: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical listing fields (as ``domain.listing_fields``) from a listing object.

    For drift detection: equal to ``listing_fields(normalise(listing))`` when Hemnet holds
    what syncd sent. Unknown enum values read as None.
    """
    names = {wire_name: name for name, wire_name in wire.LISTING_FIELD_NAMES.items()}
    raw = {names[k]: v for k, v in data.items() if k in names}
    addr = raw.get("address") or {}
    coords = raw.get("coordinates")
    energy = raw.get("energy_class")
    broker = raw.get("broker")
    out: dict[str, Any] = {
        "address": Address(
            street=str(addr.get(wire.STREET_ADDRESS) or ""),
            postal_code=_str(addr, wire.POSTAL_CODE),
            city=_str(addr, wire.CITY),
            municipality=_str(addr, wire.MUNICIPALITY),
            apartment_number=_str(addr, wire.APARTMENT_NUMBER),
        ),
        "housing_form": wire.HOUSING_FORMS_BACK.get(str(raw.get("housing_form"))),
        "tenure": wire.TENURES_BACK.get(str(raw.get("tenure"))),
        "coordinates": (
            Coordinates(float(coords[wire.LATITUDE]), float(coords[wire.LONGITUDE]))
            if isinstance(coords, dict)
            else None
        ),
        "energy_class": _str(energy, wire.ENERGY_CLASS) if isinstance(energy, dict) else None,
        "new_construction": bool(raw.get("new_construction", False)),
        "viewings": tuple(
            Viewing(
                starts_at=datetime.fromisoformat(str(v[wire.VIEWING_STARTS_AT])),
                ends_at=_datetime(v.get(wire.VIEWING_ENDS_AT)),
                note=_str(v, wire.VIEWING_NOTE),
            )
            for v in raw.get("viewings") or ()
        ),
        "broker": (
            Broker(
                name=str(broker.get(wire.BROKER_NAME) or ""),
                email=_str(broker, wire.BROKER_EMAIL),
                phone=_str(broker, wire.BROKER_PHONE),
            )
            if isinstance(broker, dict)
            else None
        ),
    }
    for name in ("living_area", "supplemental_area", "plot_area", "rooms"):
        out[name] = _decimal(raw.get(name))
    for name in ("asking_price", "monthly_fee", "operating_cost", "floor", "construction_year"):
        value = raw.get(name)
        out[name] = None if value is None else int(value)
    for name in ("title", "description"):
        out[name] = _str(raw, name)
    return {name: out[name] for name in LISTING_FIELDS}
