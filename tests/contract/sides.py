"""The two Hemnets the contract suite drives: the in-memory fake and the sandbox over HTTP.

Both take ``syncd.core.ops`` operations and answer ``"ok"`` or Hemnet's error type, and both are
read back as the same ``Seen`` facts, so one script of steps runs on either and the two
transcripts can be compared. The sandbox is reached only through ``HemnetClient``, as
apply reaches Hemnet; the fake through ``FakeHemnet.apply``, as the property tests do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import httpx

from syncd.core.domain import (
    Agency,
    ImageRight,
    ImageRightTerms,
    ImageState,
    MarketState,
    PhotoAgency,
)
from syncd.core.errors import RejectedApiError, RemoteDriftError
from syncd.core.ops import (
    AddImage,
    CreateListing,
    DeleteImage,
    DeleteImageRight,
    EnsureAgency,
    MarkSold,
    Operation,
    PublishListing,
    SendBillingInformation,
    SendSellerInformation,
    SetImageRight,
    SetMarketState,
    UnpublishListing,
    UpdateImage,
    UpdateListing,
)
from syncd.hemnet import HemnetClient
from syncd.hemnet.payload import image_right_of, listing_body, update_body
from syncd.sandbox import wire
from syncd.sandbox.testing import SandboxHandle
from tests.fakes.hemnet_state import FakeHemnet, Refused

OK = "ok"
# An image id neither side ever hands out.
NO_SUCH_IMAGE = "999999999"


@dataclass(frozen=True)
class Seen:
    """One listing as Hemnet shows it: what both sides must agree on."""

    copies: int  # listings with this listing_key as externalId (more than 1: duplicates)
    published: bool
    approved: bool
    market_state: MarketState | None
    allowed_market_states: frozenset[MarketState]
    sold_price: int | None
    images: tuple[tuple[str, ImageState], ...]  # (url, state), sorted
    image_right: ImageRight | None


class Side(Protocol):
    name: str

    def new_agency(self, agency: Agency) -> None: ...

    def run(self, op: Operation) -> str: ...

    def process_images(self) -> None: ...

    def approve(self, listing_key: str) -> None: ...

    def image_ids(self, listing_key: str, url: str) -> list[str]: ...

    def seen(self, listing_key: str) -> Seen: ...


class FakeSide:
    name = "fake"

    def __init__(self, fail_urls: set[str]) -> None:
        self.fake = FakeHemnet()
        self.fail_urls = fail_urls

    def new_agency(self, agency: Agency) -> None:
        self.fake.apply(EnsureAgency(None, agency=agency))

    def run(self, op: Operation) -> str:
        if isinstance(op, AddImage) and op.image.url in self.fail_urls:
            self.fake.fail_once.add(op.image.url)  # the sandbox fails such a URL every time
        try:
            self.fake.apply(op)
        except Refused as refusal:
            return refusal.error_type
        return OK

    def process_images(self) -> None:
        self.fake.process_images()

    def approve(self, listing_key: str) -> None:
        self.fake.approve(listing_key)

    def image_ids(self, listing_key: str, url: str) -> list[str]:
        known = self.fake.listings[listing_key]
        return [img.image_id for img in known.images if img.url == url]

    def seen(self, listing_key: str) -> Seen:
        known = self.fake.listings[listing_key]
        return Seen(
            copies=1 + len(self.fake.duplicates.get(listing_key, [])),
            published=known.is_published,
            approved=known.is_approved,
            market_state=known.market_state,
            allowed_market_states=known.allowed_market_states,
            sold_price=None if known.sold is None else known.sold.price,
            images=tuple(sorted((img.url, img.state) for img in known.images)),
            image_right=known.image_right,
        )


class SandboxSide:
    name = "sandbox"

    def __init__(self, handle: SandboxHandle, client: HemnetClient) -> None:
        self.handle = handle
        self.client = client
        self.agencies: dict[str, str] = {}
        # listing_key -> the first listing made for it (what apply would follow)
        self.listings: dict[str, str] = {}

    def new_agency(self, agency: Agency) -> None:
        # Outside the API: an agency that signed Hemnet's HQ partnership agreement, as every
        # agency of the fake has (TEASED needs it).
        body = {
            wire.AGENCY_ONE: {
                "name": agency.name,
                "externalId": agency.key,
                "hqPartnershipAgreement": True,
            }
        }
        response = httpx.post(
            self.handle.base_url + wire.AGENCIES, json=body, headers=self.handle.auth
        )
        response.raise_for_status()
        self.agencies[agency.key] = str(response.json()[wire.AGENCY_ONE]["id"])

    def run(self, op: Operation) -> str:
        try:
            self._call(op)
        except RejectedApiError as exc:
            return exc.error_types[0] if exc.error_types else f"HTTP {exc.context.status}"
        except RemoteDriftError as exc:
            return {404: "NotFoundError", 409: "ConflictError"}.get(
                exc.context.status or 0, f"HTTP {exc.context.status}"
            )
        return OK

    def _call(self, op: Operation) -> None:
        c = self.client
        if isinstance(op, CreateListing):
            agency_id = self.agencies[op.listing.agency_key]
            created = c.create_listing(listing_body(op.listing, agency_id))
            self.listings.setdefault(op.listing.listing_key, created.hemnet_id)
            return
        hid = self.listings.get(op.listing_key or "", "no-such-listing")
        if isinstance(op, UpdateListing):
            c.update_listing(hid, update_body(op.listing, op.changed))
        elif isinstance(op, SetMarketState):
            c.update_market_state(hid, op.market_state)
        elif isinstance(op, SendSellerInformation):
            c.put_seller_information(hid, op.seller)
        elif isinstance(op, SendBillingInformation):
            c.put_billing_information(hid, op.billing)
        elif isinstance(op, SetImageRight):
            c.put_image_right(hid, image_right_of(op.image_right))
        elif isinstance(op, DeleteImageRight):
            c.delete_image_right(hid)
        elif isinstance(op, AddImage):
            img = op.image
            c.add_image(hid, img.url, img.caption, img.order, img.is_floor_plan)
        elif isinstance(op, DeleteImage):
            c.delete_image(hid, op.image_id)
        elif isinstance(op, UpdateImage):
            c.update_image(hid, op.image_id, op.order, op.caption)
        elif isinstance(op, PublishListing):
            c.publish(hid, True if op.auto_approve else None)
        elif isinstance(op, UnpublishListing):
            c.unpublish(hid)
        elif isinstance(op, MarkSold):
            c.mark_sold(hid, op.sale.price, op.sale.price_is_public, op.sale.sold_on)
        else:
            raise AssertionError(f"the contract suite does not send {op.kind}")

    def process_images(self) -> None:
        """Wait (with a deadline) until the sandbox has processed every image."""
        deadline = time.monotonic() + 10
        for hid in self.listings.values():
            while any(i.state is ImageState.IN_PROGRESS for i in self.client.list_images(hid)):
                assert time.monotonic() < deadline, "the sandbox never processed the images"
                time.sleep(0.02)

    def approve(self, listing_key: str) -> None:
        self.handle.approve(self.listings[listing_key])

    def image_ids(self, listing_key: str, url: str) -> list[str]:
        images = self.client.list_images(self.listings[listing_key])
        return [img.image_id for img in sorted(images, key=lambda i: i.image_id) if img.url == url]

    def seen(self, listing_key: str) -> Seen:
        hid = self.listings[listing_key]
        remote = self.client.get_listing(hid)
        right = self.client.get_image_right(hid)
        return Seen(
            copies=len(self.client.list_listings(external_id=listing_key)),
            published=remote.is_published,
            approved=remote.is_approved,
            market_state=remote.market_state,
            allowed_market_states=remote.allowed_market_states,
            sold_price=None if remote.sale is None else remote.sale.price,
            images=tuple(sorted((i.url, i.state) for i in self.client.list_images(hid))),
            image_right=None
            if right is None
            else ImageRight(
                terms=ImageRightTerms(right.terms) if right.terms else None,
                photo_agency=PhotoAgency(right.photo_agency) if right.photo_agency else None,
                photo_agency_name=right.photo_agency_name,
                photographer=right.photographer,
            ),
        )
