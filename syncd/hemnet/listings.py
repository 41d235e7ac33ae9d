"""The Hemnet client's listing endpoints: the listing, its sale, checks, seller, billing and
image right.

One method per endpoint over ``HttpCalls``; no paging or sending of its own, no decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar

from syncd.core.domain import BillingInformation, MarketState, SellerInformation
from syncd.core.errors import RemoteDriftError
from syncd.hemnet import payload, wire
from syncd.hemnet.http import HttpCalls
from syncd.hemnet.models import (
    Checks,
    ImageRight,
    RemoteListing,
    RemoteListings,
    RemoteSale,
)
from syncd.hemnet.payload import Note

T = TypeVar("T")


class ListingEndpoints(HttpCalls):
    """A listing and what hangs on it, images aside."""

    # --- listings --------------------------------------------------------------------------

    def _listing(
        self,
        method: str,
        template: str,
        listing_id: str,
        body: Mapping[str, Any] | None = None,
    ) -> RemoteListing:
        return self._one(
            method,
            template,
            {"listing_id": listing_id},
            wire.LISTING_ONE,
            payload.known_listing_from,
            body=body,
        )

    def create_listing(self, body: Mapping[str, Any]) -> RemoteListing:
        """Create from ``payload.listing_body``. Not idempotent: settle unknown outcomes by
        ``list_listings(external_id=...)`` before sending again."""
        return self._one(
            "POST", wire.LISTINGS, None, wire.LISTING_ONE, payload.known_listing_from, body=body
        )

    def list_listings(
        self, external_id: str | None = None, agency_id: str | None = None
    ) -> RemoteListings:
        """Every listing (all pages), optionally only those with our ``external_id``.

        The full enumeration leaves out a listing it cannot read (reported in ``problems``,
        its id in ``left_out``) and returns the others; asked by ``external_id`` it fails
        instead, because "not there" would let syncd create a duplicate.
        """
        query: dict[str, str] = {}
        if external_id is not None:
            query[wire.EXTERNAL_ID] = external_id
        if agency_id is not None:
            query[wire.AGENCY_ID] = agency_id
        found, left_out = self._list(
            wire.LISTINGS,
            None,
            wire.LISTING_MANY,
            payload.known_listing_from,
            skip_unreadable=external_id is None,
            query=query,
        )
        return RemoteListings(found, left_out)

    def glance_listings(self, keep: Callable[[RemoteListing], T]) -> tuple[list[T], frozenset[str]]:
        """The full enumeration as ``list_listings`` reads it, each listing handed to ``keep``
        as its page is read: only what ``keep`` returns is held, one page decoded at a time
        (at 100,000 listings the whole list decoded is hundreds of MB). ``keep`` must not
        fail; the ids of unreadable listings come second, as ``RemoteListings.left_out``."""

        def parse(item: dict[str, Any], notes: list[Note] | None) -> T:
            return keep(payload.known_listing_from(item, notes))

        return self._list(wire.LISTINGS, None, wire.LISTING_MANY, parse, skip_unreadable=True)

    def get_listing(self, listing_id: str) -> RemoteListing:
        return self._listing("GET", wire.LISTING, listing_id)

    def update_listing(self, listing_id: str, body: Mapping[str, Any]) -> RemoteListing:
        """Partial update with a body from ``payload.update_body``."""
        return self._listing("PATCH", wire.LISTING, listing_id, body)

    def publish(self, listing_id: str, allowed_auto_approve: bool | None = None) -> RemoteListing:
        return self._listing(
            "POST", wire.PUBLISH, listing_id, payload.publish_body(allowed_auto_approve)
        )

    def unpublish(self, listing_id: str) -> RemoteListing:
        return self._listing("POST", wire.UNPUBLISH, listing_id)

    def update_market_state(self, listing_id: str, state: MarketState) -> RemoteListing:
        return self._listing(
            "POST", wire.MARKET_STATE, listing_id, payload.market_state_body(state)
        )

    def mark_sold(
        self, listing_id: str, price: int, is_public: bool, contract_date: date
    ) -> RemoteSale:
        """Report the sale; Hemnet unpublishes the listing. Near-irreversible (see DESIGN)."""
        body = payload.sale_body(price, is_public, contract_date)
        return self._one(
            "POST",
            wire.SALE_OF_LISTING,
            {"listing_id": listing_id},
            wire.SALE_ONE,
            payload.sale_from,
            body=body,
        )

    def get_sale(self, sale_id: str) -> RemoteSale:
        return self._one("GET", wire.SALE, {"sale_id": sale_id}, wire.SALE_ONE, payload.sale_from)

    def get_checks(self, listing_id: str) -> Checks:
        return self._one(
            "GET", wire.CHECKS, {"listing_id": listing_id}, wire.CHECKS_ONE, payload.checks_from
        )

    def put_seller_information(self, listing_id: str, seller: SellerInformation) -> None:
        """Write-only on Hemnet: nothing comes back to compare (remember a hash instead)."""
        self._write_only("PUT", wire.SELLER_INFORMATION, listing_id, payload.seller_body(seller))

    def put_billing_information(self, listing_id: str, billing: BillingInformation) -> None:
        self._write_only("PUT", wire.BILLING_INFORMATION, listing_id, payload.billing_body(billing))

    def _write_only(
        self, method: str, template: str, listing_id: str, body: Mapping[str, Any] | None = None
    ) -> None:
        """A call on the listing whose answer carries nothing syncd reads."""
        self._request(method, template, {"listing_id": listing_id}, body=body)

    # --- image right -----------------------------------------------------------------------

    def get_image_right(self, listing_id: str) -> ImageRight | None:
        """The image right, or None when the listing has none (Hemnet answers 404)."""
        try:
            return self._one(
                "GET",
                wire.IMAGE_RIGHT,
                {"listing_id": listing_id},
                wire.IMAGE_RIGHT_ONE,
                payload.image_right_from,
            )
        except RemoteDriftError as exc:
            if exc.context.status == 404:
                return None
            raise

    def put_image_right(self, listing_id: str, right: ImageRight) -> ImageRight:
        return self._one(
            "PUT",
            wire.IMAGE_RIGHT,
            {"listing_id": listing_id},
            wire.IMAGE_RIGHT_ONE,
            payload.image_right_from,
            body=payload.image_right_body(right),
        )

    def delete_image_right(self, listing_id: str) -> None:
        self._write_only("DELETE", wire.IMAGE_RIGHT, listing_id)
