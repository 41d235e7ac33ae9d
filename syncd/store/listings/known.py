"""Writes of what syncd knows Hemnet has: what was sent, what Hemnet reported, the sale.

Inside a caller's transaction: never commits, never decides what to send.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from syncd.core.domain import (
    Hashes,
    ImageRight,
    Listing,
    MarketState,
    Sale,
    to_plain,
)
from syncd.store.listings.images import known_images
from syncd.store.listings.rows import require, update_columns
from syncd.store.tables import ListingRow


def record_sent(
    session: Session,
    listing_key: str,
    now: datetime,
    *,
    hemnet_id: str | None = None,
    sent: Listing | None = None,
) -> ListingRow:
    """Hemnet confirmed a create or update: remember the listing as sent and its hash."""
    row = require(session, listing_key)
    if hemnet_id is not None:
        row.hemnet_id = hemnet_id
    if sent is not None:
        row.sent_json = to_plain(sent)
        row.applied_hash = Hashes.of(sent).content
    row.failed_hash = None
    row.last_error = None
    row.updated_at = now
    session.flush()
    return row


def record_remote_state(
    session: Session,
    listing_key: str,
    now: datetime,
    *,
    is_published: bool,
    is_approved: bool,
    market_state: MarketState | None = None,
    allowed_market_states: Iterable[MarketState] = (),
    approval_url: str | None = None,
    public_url: str | None = None,
    sold: Sale | None = None,
) -> ListingRow:
    """What Hemnet reported for the listing (outcome, poll or reconcile).

    published_at and visible_at keep the first time each was seen, for "waiting since".
    An answer that changes nothing writes nothing (a reconcile reads back every listing).
    """
    row = require(session, listing_key)
    facts: dict[str, Any] = {
        "is_published": is_published,
        "is_approved": is_approved,
        "market_state": market_state.value if market_state else None,
        "allowed_market_states": sorted(s.value for s in allowed_market_states),
        "approval_url": approval_url,
        "public_url": public_url,
    }
    if sold is not None:
        facts["sold_json"] = to_plain(sold)
    changed = {name: value for name, value in facts.items() if getattr(row, name) != value}
    if not changed:
        return row
    if is_published and not row.is_published:
        row.published_at = now
    if is_published and is_approved and not (row.is_published and row.is_approved):
        row.visible_at = now
    for name, value in changed.items():
        setattr(row, name, value)
    row.updated_at = now
    session.flush()
    return row


def record_seen_on_hemnet(
    session: Session,
    listing_key: str,
    now: datetime,
    *,
    sent: Listing | None,
    hemnet_id: str | None = None,
) -> ListingRow:
    """Reconcile: the listing body as Hemnet holds it becomes the known ``sent`` state.

    Unlike ``record_sent`` it keeps ``failed_hash`` and ``last_error``: reading Hemnet back
    says nothing about whether the CRM's current content would be accepted.
    """
    row = require(session, listing_key)
    if hemnet_id is not None:
        row.hemnet_id = hemnet_id
    row.sent_json = None if sent is None else to_plain(sent)
    row.applied_hash = None if sent is None else Hashes.of(sent).content
    row.updated_at = now
    session.flush()
    return row


def record_sent_hashes(
    session: Session,
    listing_key: str,
    now: datetime,
    *,
    seller_hash: str | None = None,
    billing_hash: str | None = None,
) -> None:
    """Seller and billing information are write-only on Hemnet: remember what was sent."""
    sent = {"sent_seller_hash": seller_hash, "sent_billing_hash": billing_hash}
    update_columns(session, listing_key, now, **{k: v for k, v in sent.items() if v is not None})


def record_image_right(
    session: Session, listing_key: str, right: ImageRight | None, now: datetime
) -> None:
    """Hemnet confirmed a PUT (``right``) or a DELETE (None) of the listing's image right."""
    sent = None if right is None else to_plain(right)
    update_columns(session, listing_key, now, sent_image_right_json=sent)


# Everything known of a listing on Hemnet, as it is before the first create.
_NOTHING_KNOWN: dict[str, Any] = {
    "hemnet_id": None,
    "sent_json": None,
    "applied_hash": None,
    "sent_seller_hash": None,
    "sent_billing_hash": None,
    "sent_image_right_json": None,
    "is_published": False,
    "is_approved": False,
    "market_state": None,
    "allowed_market_states": None,
    "sold_json": None,
    "approval_url": None,
    "public_url": None,
    "published_at": None,
    "visible_at": None,
    "next_poll_at": None,
}


def forget_remote(session: Session, listing_key: str, now: datetime) -> None:
    """Hemnet no longer has the listing: clear everything known of it, so the next plan
    creates it again (write-only seller and billing information included)."""
    require(session, listing_key)
    for image in known_images(session, listing_key):
        session.delete(image)
    update_columns(session, listing_key, now, **_NOTHING_KNOWN)


def record_sold(session: Session, listing_key: str, sale: Sale, now: datetime) -> None:
    """Hemnet took the sale: the listing is sold and off Hemnet (it unpublishes it)."""
    sold = to_plain(sale)
    update_columns(
        session, listing_key, now, sold_json=sold, is_published=False, allowed_market_states=[]
    )


def record_sale_deleted(session: Session, listing_key: str, now: datetime) -> None:
    """syncd published a sold listing again, which deleted its sale on Hemnet.

    Only syncd's own republish clears a sale: a sale missing from a read-back (someone
    republished on Hemnet) stays recorded, and shows as a conflict (stages.conflicts).
    """
    update_columns(session, listing_key, now, sold_json=None)
