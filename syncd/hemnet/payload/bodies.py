"""Domain values -> Hemnet JSON bodies, through the names in ``wire.py``.

Pure translation: no I/O, no reading of answers (``answers.py``), no decisions about what
to send.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Final

from syncd.core.domain import (
    LISTING_FIELDS,
    BillingInformation,
    Listing,
    MarketState,
    SellerInformation,
    Viewing,
)
from syncd.core.domain import ImageRight as DomainImageRight
from syncd.hemnet import wire
from syncd.hemnet.models import (
    ImageRight,
)

Json = dict[str, Any]


# --- domain -> wire --------------------------------------------------------------------------


def _number(value: Decimal) -> int | float:
    # Whole numbers go out as integers (3 rooms, not 3.0); Hemnet types them as "number".
    return int(value) if value == value.to_integral_value() else float(value)


def _drop_none(data: Mapping[str, Any]) -> Json:
    return {k: v for k, v in data.items() if v is not None}


# The objects sent as they are: each attribute of the domain value -> its wire name.
_ADDRESS: Final = {
    "street": wire.STREET_ADDRESS,
    "postal_code": wire.POSTAL_CODE,
    "city": wire.CITY,
    "municipality": wire.MUNICIPALITY,
    "apartment_number": wire.APARTMENT_NUMBER,
}
_BROKER: Final = {"name": wire.BROKER_NAME, "email": wire.BROKER_EMAIL, "phone": wire.BROKER_PHONE}
_BILLING: Final = {
    "recipient_name": wire.BILLING_RECIPIENT_NAME,
    "street": wire.BILLING_STREET_ADDRESS,
    "postal_code": wire.BILLING_POSTAL_CODE,
    "city": wire.BILLING_CITY,
}
_IMAGE_RIGHT: Final = {
    "terms": wire.IMAGE_RIGHT_TERMS,
    "photo_agency": wire.IMAGE_RIGHT_PHOTO_AGENCY,
    "photo_agency_name": wire.IMAGE_RIGHT_PHOTO_AGENCY_NAME,
    "photographer": wire.IMAGE_RIGHT_PHOTOGRAPHER,
}


def _object(value: object, wire_names: Mapping[str, str]) -> Json:
    """``value``'s attributes under their wire names, those that are None left out."""
    return _drop_none({wire_name: getattr(value, name) for name, wire_name in wire_names.items()})


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
        # A nested object is replaced whole, so a part left out is cleared: no nulls inside.
        return _object(value, _ADDRESS)
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
        return _object(value, _BROKER)
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
    return {wire.BILLING_ONE: _object(billing, _BILLING)}


def image_right_body(right: ImageRight) -> Json:
    # PUT is partial on Hemnet (DOC): a field left None keeps its value there.
    return {wire.IMAGE_RIGHT_ONE: _object(right, _IMAGE_RIGHT)}


def image_right_of(right: DomainImageRight) -> ImageRight:
    """The listing's image right as the client sends it (the enums' values are Hemnet's)."""
    return ImageRight(
        terms=None if right.terms is None else right.terms.value,
        photo_agency=None if right.photo_agency is None else right.photo_agency.value,
        photo_agency_name=right.photo_agency_name,
        photographer=right.photographer,
    )
