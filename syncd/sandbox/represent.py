"""How each sandbox record looks on the wire (camelCase, ASSUMED shapes of docs/hemnet-wire.md).

Read-only views: never changes the world. Seller and billing information have no view at
all, because Hemnet never returns them.
"""

from __future__ import annotations

from typing import Any

from syncd.sandbox import wire
from syncd.sandbox.lifecycle import allowed_market_states
from syncd.sandbox.model import Agency, Image, Key, Listing, Sale, World


def key_json(key: Key) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "createdAt": key.created_at,
        "expiresAt": key.expires_at,
    }


def agency_json(agency: Agency) -> dict[str, Any]:
    return {
        "id": agency.id,
        "name": agency.name,
        "organisationNumber": agency.organisation_number,
        "externalId": agency.external_id,
        "hqPartnershipAgreement": agency.hq_partnership_agreement,
    }


def image_json(image: Image, *, detail: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": image.id,
        "url": image.url,
        "caption": image.caption,
        "position": image.position,
        "isFloorPlan": image.is_floor_plan,
        "state": image.state,
    }
    # The reason is only on the individual record (DOC: "if you fetch the individual record").
    if detail:
        out["stateMessage"] = image.state_message
    return out


def sale_json(sale: Sale) -> dict[str, Any]:
    return {
        "id": sale.id,
        "listingId": sale.listing_id,
        "price": sale.price,
        "isPricePublic": sale.is_price_public,
        "contractDate": sale.contract_date,
        "createdAt": sale.created_at,
    }


def listing_json(world: World, listing: Listing, root_url: str) -> dict[str, Any]:
    sale = world.sales.get(listing.sale_id) if listing.sale_id else None
    return {
        **listing.fields,
        "id": listing.id,
        "externalId": listing.fields.get("externalId"),
        "publicationStatus": {
            "marketState": listing.market_state,
            "allowedMarketStates": allowed_market_states(world, listing),
            "isPublished": listing.is_published,
            "isApproved": listing.is_approved,
        },
        "isVisible": listing.is_visible,
        "approvalUrl": root_url + wire.APPROVAL_PATH.format(listing_id=listing.id),
        "url": root_url + wire.PUBLIC_LISTING_PATH.format(listing_id=listing.id),
        "sale": sale_json(sale) if sale else None,
        "createdAt": listing.created_at,
        "updatedAt": listing.updated_at,
    }
