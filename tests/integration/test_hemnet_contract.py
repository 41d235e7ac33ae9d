"""The Hemnet client against the real sandbox over HTTP: the whole lifecycle, every error.

Proves ``syncd/hemnet/wire.py`` and ``syncd/sandbox/wire.py`` agree. Each test builds what
it needs through the client itself; the sandbox's admin helpers only stand in for what
happens outside the API (the broker's approval, the passing of time).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

from syncd.core.domain import (
    Address,
    BillingInformation,
    HousingForm,
    ImageState,
    Listing,
    ListingStatus,
    MarketState,
    SellerInformation,
    SellerType,
    Tenure,
    listing_fields,
    normalise,
)
from syncd.core.errors import (
    AuthenticationApiError,
    RejectedApiError,
    RemoteDriftError,
    RetryableApiError,
)
from syncd.hemnet import HemnetClient, wire
from syncd.hemnet.models import ImageRight, RemoteImage, RemoteListing
from syncd.hemnet.payload import listing_body, listing_fields_from, update_body
from syncd.sandbox.testing import SandboxHandle, serve_sandbox

IMAGE = "https://images.example.test/{n}.jpg"
UNREACHABLE = "https://unreachable.example.test/front.jpg"


@pytest.fixture
def api(sandbox: SandboxHandle) -> Iterator[HemnetClient]:
    with HemnetClient(sandbox.base_url, lambda: sandbox.token, timeout_s=10) as client:
        yield client


def a_listing(key: str, **extra: object) -> Listing:
    fields: dict[str, object] = {
        "housing_form": HousingForm.APARTMENT,
        "tenure": Tenure.CONDOMINIUM,
        "asking_price": 3_950_000,
        "living_area": Decimal("72.5"),
        "rooms": Decimal("3"),
        "title": "Ljus trea",
        "description": "Nära vattnet.",
        **extra,
    }
    return normalise(
        Listing(
            listing_key=key,
            agency_key="AG1",
            status=ListingStatus.FOR_SALE,
            address=Address("Storgatan 1", "11122", "Stockholm", "Stockholm", "1102"),
            **fields,  # type: ignore[arg-type]
        )
    )


def new_listing(api: HemnetClient, key: str, **extra: object) -> RemoteListing:
    agency = api.create_agency(f"Mäklarna {key}", "556677-8899", f"agency-{key}")
    return api.create_listing(listing_body(a_listing(key, **extra), agency.hemnet_id))


def wait_for(what: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not what():
        assert time.monotonic() < deadline, "the sandbox never got there"
        time.sleep(0.02)


def images_settled(api: HemnetClient, listing_id: str) -> list[RemoteImage]:
    images: list[RemoteImage] = []

    def settled() -> bool:
        nonlocal images
        images = api.list_images(listing_id)
        return all(i.state is not ImageState.IN_PROGRESS for i in images)

    wait_for(settled)
    return images


def test_agency_create_and_list(api: HemnetClient) -> None:
    created = api.create_agency("Mäklarhuset", "556677-0000", "AG-CONTRACT")
    assert created.hemnet_id
    assert created.external_id == "AG-CONTRACT"
    assert api.get_agency(created.hemnet_id) == created
    assert created in api.list_agencies()


def test_listing_create_list_get_patch(api: HemnetClient) -> None:
    created = new_listing(api, "L-CRUD")
    assert created.external_id == "L-CRUD"
    assert not created.is_published and not created.is_visible
    assert created.market_state is MarketState.FOR_SALE
    assert MarketState.FOR_SALE in created.allowed_market_states

    (found,) = api.list_listings(external_id="L-CRUD")
    assert found.hemnet_id == created.hemnet_id
    assert any(r.external_id == "L-CRUD" for r in api.list_listings())

    fetched = api.get_listing(created.hemnet_id)
    assert listing_fields_from(fetched.raw) == listing_fields(a_listing("L-CRUD"))

    changed = a_listing("L-CRUD", asking_price=3_700_000, title=None)
    api.update_listing(created.hemnet_id, update_body(changed, ["asking_price", "title"]))
    after = listing_fields_from(api.get_listing(created.hemnet_id).raw)
    assert after["asking_price"] == 3_700_000
    assert after["title"] is None  # null cleared it
    assert after["description"] == "Nära vattnet."  # untouched by the partial update


def test_a_listings_agency_is_fixed_once_created_as_the_wire_assumes(api: HemnetClient) -> None:
    other = api.create_agency("Annan Mäklare AB", None, "AG-OTHER")
    created = new_listing(api, "L-AGENCY")
    body = {wire.LISTING_ONE: {wire.AGENCY_ID: other.hemnet_id}}
    if wire.LISTING_AGENCY_IS_FIXED:
        with pytest.raises(RejectedApiError):
            api.update_listing(created.hemnet_id, body)
        assert api.get_listing(created.hemnet_id).agency_id == created.agency_id
    else:
        assert api.update_listing(created.hemnet_id, body).agency_id == other.hemnet_id


def test_listing_pages_are_all_read(api: HemnetClient) -> None:
    agency = api.create_agency("Många annonser AB")
    for n in range(23):
        api.create_listing(listing_body(a_listing(f"PAGE-{n}"), agency.hemnet_id))
    mine = api.list_listings(agency_id=agency.hemnet_id)
    assert sorted(r.external_id or "" for r in mine) == sorted(f"PAGE-{n}" for n in range(23))


def test_25_images_are_read_past_the_default_page(
    api: HemnetClient, sandbox: SandboxHandle
) -> None:
    listing = new_listing(api, "L-IMG25")
    for n in range(25):
        api.add_image(listing.hemnet_id, IMAGE.format(n=n), f"Bild {n}", n)
    with sandbox.client() as raw:
        default = raw.get(f"/listings/{listing.hemnet_id}/images").json()
    assert len(default["images"]) == 20
    images = images_settled(api, listing.hemnet_id)
    assert len(images) == 25
    assert {i.url for i in images} == {IMAGE.format(n=n) for n in range(25)}
    assert all(i.state is ImageState.COMPLETED for i in images)
    assert len(api.list_images(listing.hemnet_id, limit=7)) == 25  # paged by offset


def test_image_update_and_delete(api: HemnetClient) -> None:
    listing = new_listing(api, "L-IMGEDIT")
    image = api.add_image(listing.hemnet_id, IMAGE.format(n="edit"), "Kök", 0)
    assert image.state is ImageState.IN_PROGRESS
    moved = api.update_image(listing.hemnet_id, image.image_id, 3, None)
    assert moved.position == 3 and moved.caption is None
    api.delete_image(listing.hemnet_id, image.image_id)
    assert api.list_images(listing.hemnet_id) == []
    with pytest.raises(RemoteDriftError):
        api.get_image(listing.hemnet_id, image.image_id)


def test_unreachable_image_fails_with_a_state_message(api: HemnetClient) -> None:
    listing = new_listing(api, "L-IMGFAIL")
    image = api.add_image(listing.hemnet_id, UNREACHABLE)
    (listed,) = images_settled(api, listing.hemnet_id)
    assert listed.state is ImageState.FAILED
    assert listed.state_message is None  # only on the individual record (DOC)
    detail = api.get_image(listing.hemnet_id, image.image_id)
    assert detail.state is ImageState.FAILED
    assert detail.state_message and "unreachable" in detail.state_message
    assert not detail.state_message.endswith("\n")


def test_publish_before_a_completed_image_is_a_checks_error(api: HemnetClient) -> None:
    listing = new_listing(api, "L-NOIMG")
    with pytest.raises(RejectedApiError) as info:
        api.publish(listing.hemnet_id)
    err = info.value
    assert err.error_types == ["ChecksError"]
    assert any("image" in m for m in err.messages)
    assert all(not m.endswith("\n") for m in err.messages + err.warnings)
    assert err.warnings  # the sandbox also advises (no description / few images)
    assert err.context.request_id
    checks = api.get_checks(listing.hemnet_id)
    assert any("image" in e for e in checks.errors)


def test_visible_only_after_the_approval_url_is_visited(api: HemnetClient) -> None:
    listing = new_listing(api, "L-VISIBLE")
    api.add_image(listing.hemnet_id, IMAGE.format(n="visible"))
    images_settled(api, listing.hemnet_id)
    published = api.publish(listing.hemnet_id)
    assert published.is_published and not published.is_approved and not published.is_visible
    assert published.approval_url

    httpx.get(published.approval_url).raise_for_status()  # the broker's browser

    fetched = api.get_listing(listing.hemnet_id)
    assert fetched.is_visible and fetched.is_approved
    (listed,) = api.list_listings(external_id="L-VISIBLE")
    assert listed.is_visible
    assert fetched.url and httpx.get(fetched.url).status_code == 200

    assert not api.unpublish(listing.hemnet_id).is_visible


def test_mark_sold_with_a_private_price(api: HemnetClient) -> None:
    listing = new_listing(api, "L-SOLD")
    api.add_image(listing.hemnet_id, IMAGE.format(n="sold"))
    images_settled(api, listing.hemnet_id)
    api.publish(listing.hemnet_id)

    sale = api.mark_sold(listing.hemnet_id, 4_100_000, False, date(2026, 11, 20))
    assert sale.price == 4_100_000 and not sale.is_price_public
    assert sale.contract_date == date(2026, 11, 20)
    assert api.get_sale(sale.sale_id) == sale

    after = api.get_listing(listing.hemnet_id)
    assert not after.is_published and not after.is_visible
    assert after.sale is not None and not after.sale.is_price_public
    assert after.url
    page = httpx.get(after.url).text
    assert "ej offentligt" in page  # the public page does not show the price

    with pytest.raises(RemoteDriftError) as info:  # 409: a sold listing cannot be updated
        api.update_listing(listing.hemnet_id, {"listing": {"askingPrice": 1}})
    assert info.value.context.status == 409


def test_teased_without_an_hq_agreement_is_a_transition_error(api: HemnetClient) -> None:
    listing = new_listing(api, "L-TEASED")
    assert MarketState.TEASED not in listing.allowed_market_states
    with pytest.raises(RejectedApiError) as info:
        api.update_market_state(listing.hemnet_id, MarketState.TEASED)
    assert info.value.error_types == ["TransitionError"]
    assert info.value.messages
    upcoming = api.update_market_state(listing.hemnet_id, MarketState.UPCOMING)
    assert upcoming.market_state is MarketState.UPCOMING


def test_unknown_ids_are_drift(api: HemnetClient) -> None:
    calls: tuple[Callable[[], object], ...] = (
        lambda: api.get_listing("no-such-listing"),
        lambda: api.update_listing("no-such-listing", {"listing": {"askingPrice": 1}}),
        lambda: api.publish("no-such-listing"),
    )
    for call in calls:
        with pytest.raises(RemoteDriftError) as info:
            call()
        assert info.value.context.status == 404


def test_invalid_body_is_rejected_with_hemnets_message(api: HemnetClient) -> None:
    listing = new_listing(api, "L-BAD")
    with pytest.raises(RejectedApiError) as info:
        api.update_listing(listing.hemnet_id, {"listing": {"housingForm": "CASTLE"}})
    assert info.value.context.status in (400, 422)
    assert info.value.messages


def test_seller_and_billing_are_write_only(api: HemnetClient, sandbox: SandboxHandle) -> None:
    listing = new_listing(api, "L-SELLER")
    seller = SellerInformation(
        "Sven Säljare", "sven@example.se", "19121212-1212", SellerType.ESTATE
    )
    api.put_seller_information(listing.hemnet_id, seller)
    api.put_billing_information(
        listing.hemnet_id, BillingInformation("Dödsboet", "Ekvägen 2", "12345", "Solna")
    )
    with sandbox.client() as raw:
        assert raw.get(f"/listings/{listing.hemnet_id}/seller_information").status_code in (
            404,
            405,
        )
        assert raw.get(f"/listings/{listing.hemnet_id}/billing_information").status_code in (
            404,
            405,
        )
        body = raw.get(f"/listings/{listing.hemnet_id}").text
    assert "19121212" not in body and "Dödsboet" not in body


def test_image_right_get_put_delete(api: HemnetClient) -> None:
    listing = new_listing(api, "L-RIGHT")
    assert api.get_image_right(listing.hemnet_id) is None
    stored = api.put_image_right(
        listing.hemnet_id, ImageRight("SIX_MONTHS_LICENSE", "FREELANCE", "Foto Fia")
    )
    assert stored == ImageRight("SIX_MONTHS_LICENSE", "FREELANCE", "Foto Fia")
    partial = api.put_image_right(listing.hemnet_id, ImageRight(terms="NO_LICENSE"))
    assert partial.photo_agency == "FREELANCE"  # PUT is partial (DOC)
    api.delete_image_right(listing.hemnet_id)
    assert api.get_image_right(listing.hemnet_id) is None


def test_a_burst_beyond_the_rate_limit_gets_429_with_retry_after() -> None:
    with (
        serve_sandbox(rate_per_s=2.0, burst=3) as sandbox,
        HemnetClient(sandbox.base_url, lambda: sandbox.token) as api,
    ):
        with pytest.raises(RetryableApiError) as info:
            for _ in range(20):
                api.list_keys()
        err = info.value
        assert err.context.status == 429
        assert err.retry_after_s is not None and err.retry_after_s > 0
        assert err.outcome_unknown is False
        time.sleep(err.retry_after_s)
        assert api.list_keys()  # honouring Retry-After is enough


def test_an_expired_key_gets_401_and_a_new_key_from_the_keys_api_works() -> None:
    with serve_sandbox(key_lifetime_s=100.0) as sandbox:
        token = {"value": sandbox.token}
        renewed: list[str] = []

        with HemnetClient(sandbox.base_url, lambda: token["value"]) as api:
            sandbox.advance_clock(60)
            fresh = api.create_key("syncd 2026-11")
            assert fresh.token and fresh.token != sandbox.token
            assert fresh.token not in repr(fresh)
            assert fresh.expires_at is not None
            assert any(k.key_id == fresh.key_id for k in api.list_keys())

            sandbox.advance_clock(50)  # the bootstrap key is now past its lifetime
            with pytest.raises(AuthenticationApiError) as info:
                api.list_keys()
            assert info.value.context.status == 401
            assert sandbox.token not in str(info.value)

        def renew() -> bool:
            assert fresh.token is not None
            token["value"] = fresh.token
            renewed.append(fresh.key_id)
            return True

        with HemnetClient(sandbox.base_url, lambda: token["value"], on_auth_failure=renew) as api:
            assert api.get_key(fresh.key_id).name == "syncd 2026-11"
            assert renewed == [fresh.key_id]
            api.delete_key(fresh.key_id)
            with pytest.raises(AuthenticationApiError):
                api.list_keys()  # a deleted key is refused too
