"""Listing -> Hemnet JSON and Hemnet JSON -> known state."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal

import pytest

from syncd.core.domain import (
    Address,
    BillingInformation,
    Broker,
    Coordinates,
    HousingForm,
    ImageState,
    Listing,
    ListingStatus,
    MarketState,
    SellerInformation,
    SellerType,
    Tenure,
    Viewing,
    listing_fields,
    normalise,
)
from syncd.hemnet import payload
from syncd.hemnet.models import ImageRight


def a_listing(**changes: object) -> Listing:
    base = Listing(
        listing_key="A12",
        agency_key="AG1",
        status=ListingStatus.FOR_SALE,
        address=Address("Storgatan 1", "11122", "Stockholm", "Stockholm", "1102"),
        housing_form=HousingForm.APARTMENT,
        tenure=Tenure.CONDOMINIUM,
        coordinates=Coordinates(59.33, 18.06),
        asking_price=3_950_000,
        monthly_fee=3_200,
        living_area=Decimal("72.5"),
        rooms=Decimal("3"),
        floor=2,
        construction_year=1931,
        energy_class="C",
        title="Ljus trea",
        description="Nära vattnet.",
        viewings=(
            Viewing(datetime(2026, 12, 1, 17, 0), datetime(2026, 12, 1, 18, 0), "Välkommen"),
        ),
        broker=Broker("Eva Mäklare", "eva@example.se", "070-1234567"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_listing_body_uses_wire_names_and_enum_values() -> None:
    body = payload.listing_body(a_listing(), "agency-7")["listing"]
    assert body["brokerAgencyId"] == "agency-7"
    assert body["externalId"] == "A12"
    assert body["housingForm"] == "APARTMENT"
    assert body["tenure"] == "CONDOMINIUM"
    assert body["address"]["streetAddress"] == "Storgatan 1"
    assert body["address"]["apartmentNumber"] == "1102"
    assert body["livingArea"] == 72.5
    assert body["numberOfRooms"] == 3
    assert isinstance(body["numberOfRooms"], int)
    assert body["energyClassification"] == {"classification": "C"}
    assert body["viewings"][0]["startsAt"] == "2026-12-01T17:00:00"
    assert body["broker"]["email"] == "eva@example.se"
    assert "plotArea" not in body  # None is left out of a create
    assert "images" not in body and "sale" not in body


def test_update_body_holds_only_changed_fields_and_null_clears() -> None:
    listing = a_listing(asking_price=3_800_000, description=None)
    body = payload.update_body(listing, ["asking_price", "description"])
    assert body == {"listing": {"askingPrice": 3_800_000, "description": None}}


def test_update_body_sends_whole_nested_objects_and_empty_viewings() -> None:
    body = payload.update_body(a_listing(viewings=()), ["address", "viewings"])["listing"]
    assert set(body) == {"address", "viewings"}
    assert body["viewings"] == []
    assert body["address"]["postalCode"] == "11122"


@pytest.mark.parametrize("changed", [["images"], ["sale"], ["nonsense"], []])
def test_update_body_refuses_fields_outside_the_listing_body(changed: list[str]) -> None:
    with pytest.raises(ValueError, match=r"field|changed"):
        payload.update_body(a_listing(), changed)


def test_fields_read_back_equal_what_was_sent() -> None:
    listing = normalise(a_listing())
    sent = payload.listing_body(listing, "agency-7")["listing"]
    # Hemnet adds its own fields; they must not disturb the comparison.
    echoed = {**sent, "id": "99", "isVisible": False, "publicationStatus": {}}
    assert payload.listing_fields_from(echoed) == listing_fields(listing)


def test_a_changed_remote_field_shows_as_drift() -> None:
    listing = normalise(a_listing())
    sent = payload.listing_body(listing, "agency-7")["listing"]
    edited = {**sent, "askingPrice": 1}
    assert payload.listing_fields_from(edited)["asking_price"] == 1
    assert payload.listing_fields_from(edited) != listing_fields(listing)


def test_known_listing_from_reads_publication_status_and_sale() -> None:
    remote = payload.known_listing_from(
        {
            "id": 42,
            "externalId": "A12",
            "brokerAgencyId": "agency-7",
            "publicationStatus": {
                "marketState": "FOR_SALE",
                "allowedMarketStates": ["FOR_SALE", "UPCOMING", "SOMETHING_NEW"],
                "isPublished": True,
                "isApproved": False,
            },
            "isVisible": False,
            "approvalUrl": "http://h/portal/listings/42/approve",
            "url": "http://h/bostad/42",
            "sale": {
                "id": "s1",
                "listingId": "42",
                "price": 4_100_000,
                "isPricePublic": False,
                "contractDate": "2026-11-20",
            },
        }
    )
    assert remote.hemnet_id == "42"
    assert remote.external_id == "A12"
    assert remote.is_published and not remote.is_approved and not remote.is_visible
    assert remote.market_state is MarketState.FOR_SALE
    assert remote.allowed_market_states == {MarketState.FOR_SALE, MarketState.UPCOMING}
    assert remote.approval_url == "http://h/portal/listings/42/approve"
    assert remote.sale is not None
    assert remote.sale.price == 4_100_000 and not remote.sale.is_price_public
    assert remote.sale.contract_date == date(2026, 11, 20)
    assert remote.raw["externalId"] == "A12"


def test_is_visible_derived_only_when_hemnet_leaves_it_out() -> None:
    status = {"isPublished": True, "isApproved": True}
    assert payload.known_listing_from({"id": "1", "publicationStatus": status}).is_visible
    assert not payload.known_listing_from(
        {"id": "1", "publicationStatus": status, "isVisible": False}
    ).is_visible


def test_image_from_trims_state_message_and_tolerates_unknown_state() -> None:
    failed = payload.image_from(
        {"id": "i1", "url": "http://x/1.jpg", "state": "failed", "stateMessage": "HTTP 404\n"}
    )
    assert failed.state is ImageState.FAILED
    assert failed.state_message == "HTTP 404"
    odd = payload.image_from({"id": "i2", "url": "http://x/2.jpg", "state": "queued"})
    assert odd.state is ImageState.IN_PROGRESS


def test_parsers_refuse_answers_without_ids() -> None:
    with pytest.raises(ValueError, match="id"):
        payload.known_listing_from({"externalId": "A12"})
    with pytest.raises(ValueError, match="listing"):
        payload.unwrap({"image": {}}, "listing")


def test_side_bodies() -> None:
    seller = SellerInformation("Sven", "sven@example.se", "19121212-1212", SellerType.INDIVIDUAL)
    assert payload.seller_body(seller) == {
        "sellerInformation": {
            "name": "Sven",
            "email": "sven@example.se",
            "identityNumber": "19121212-1212",
            "sellerType": "INDIVIDUAL",
        }
    }
    billing = BillingInformation("BRF Eken", "Ekvägen 2", "12345", "Solna")
    assert payload.billing_body(billing)["billingInformation"]["recipientName"] == "BRF Eken"
    assert payload.sale_body(4_000_000, False, date(2026, 11, 20)) == {
        "sale": {"price": 4_000_000, "isPricePublic": False, "contractDate": "2026-11-20"}
    }
    assert payload.publish_body(None) is None
    assert payload.publish_body(True) == {"allowedAutoApprove": True}
    assert payload.market_state_body(MarketState.UPCOMING) == {"marketState": "UPCOMING"}
    assert payload.image_update_body(3, None) == {"image": {"position": 3, "caption": ""}}
    assert payload.image_right_body(ImageRight(terms="NO_LICENSE")) == {
        "imageRight": {"terms": "NO_LICENSE"}
    }
    assert payload.image_body("http://x/1.jpg", None, 0, False) == {
        "image": {"url": "http://x/1.jpg", "position": 0, "isFloorPlan": False}
    }


def test_key_token_stays_out_of_repr() -> None:
    key = payload.key_from({"id": "k1", "name": "prod", "token": "k1.s3cr3t"})
    assert key.token == "k1.s3cr3t"
    assert "s3cr3t" not in repr(key) and "s3cr3t" not in str(key)
