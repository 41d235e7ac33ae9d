"""Reads of listings: by key, id, stage, agency or poll time, and their domain views.

Reads only; never writes, never decides what to send (that is the planner, syncd.core.plan).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.orm import Session

from syncd.core.domain import (
    ImageState,
    KnownImage,
    KnownListing,
    Listing,
    MarketState,
    image_right_from_plain,
    listing_from_plain,
)
from syncd.store.listing_states import sale_from_plain
from syncd.store.tables import ImageRow, ListingRow


def get_listing(session: Session, listing_key: str) -> ListingRow | None:
    return session.get(ListingRow, listing_key)


def get_listing_by_hemnet_id(session: Session, hemnet_id: str) -> ListingRow | None:
    return session.scalars(select(ListingRow).where(ListingRow.hemnet_id == hemnet_id)).first()


def all_listings(session: Session) -> list[ListingRow]:
    return list(session.scalars(select(ListingRow).order_by(ListingRow.listing_key)))


def count_on_hemnet(session: Session) -> int:
    """How many listings syncd follows on Hemnet, every agency's (unfenced): an estimate
    of the length of Hemnet's account-wide list of listings, to count its pages."""
    query = select(func.count()).select_from(ListingRow).where(ListingRow.hemnet_id.is_not(None))
    return int(session.scalar(query) or 0)


def listings_by_stage(session: Session, stage: str) -> list[ListingRow]:
    query = select(ListingRow).where(ListingRow.stage == stage).order_by(ListingRow.listing_key)
    return list(session.scalars(query))


def listings_of_agency(session: Session, agency_key: str) -> list[ListingRow]:
    query = (
        select(ListingRow)
        .where(ListingRow.agency_key == agency_key)
        .order_by(ListingRow.listing_key)
    )
    return list(session.scalars(query))


def listings_due_for_poll(session: Session, now: datetime) -> list[ListingRow]:
    query = (
        select(ListingRow)
        .where(ListingRow.next_poll_at.is_not(None), ListingRow.next_poll_at <= now)
        .order_by(ListingRow.next_poll_at)
    )
    return list(session.scalars(query))


def listings_to_follow_unscheduled(session: Session) -> list[ListingRow]:
    """Listings Hemnet is busy with (images in progress, published but not approved) that no
    one has scheduled a poll for: found here so a missed ``next_poll_at`` never strands them."""
    processing = (
        select(ImageRow.id)
        .where(
            ImageRow.listing_key == ListingRow.listing_key,
            ImageRow.state == ImageState.IN_PROGRESS.value,
        )
        .exists()
    )
    awaiting = ListingRow.is_published.is_(True) & ListingRow.is_approved.is_(False)
    query = (
        select(ListingRow)
        .where(
            ListingRow.hemnet_id.is_not(None),
            ListingRow.next_poll_at.is_(None),
            ListingRow.sold_json.is_(None),
            processing | awaiting,
        )
        .order_by(ListingRow.listing_key)
    )
    return list(session.scalars(query))


def earliest_next_poll_at(session: Session) -> datetime | None:
    """When the next listing is due for a poll (None: nothing scheduled)."""
    query = (
        select(ListingRow.next_poll_at)
        .where(ListingRow.next_poll_at.is_not(None))
        .order_by(ListingRow.next_poll_at)
        .limit(1)
    )
    return session.scalars(query).first()


def oldest_awaiting_approval_since(session: Session) -> datetime | None:
    """``published_at`` of the listing that has waited longest for the broker's approval."""
    query = (
        select(ListingRow.published_at)
        .where(
            ListingRow.hemnet_id.is_not(None),
            ListingRow.is_published.is_(True),
            ListingRow.is_approved.is_(False),
            ListingRow.sold_json.is_(None),
            ListingRow.published_at.is_not(None),
        )
        .order_by(ListingRow.published_at)
        .limit(1)
    )
    return session.scalars(query).first()


def desired_listing(row: ListingRow) -> Listing | None:
    return None if row.desired_json is None else listing_from_plain(row.desired_json)


def _known_image(row: ImageRow) -> KnownImage | None:
    if row.hemnet_image_id is None or row.state is None:
        return None
    return KnownImage(
        url=row.url,
        image_id=row.hemnet_image_id,
        state=ImageState(row.state),
        order=row.position,
        caption=row.caption,
        revision=row.revision,
        state_message=row.state_message,
    )


def known_listing(row: ListingRow, images: Sequence[ImageRow] = ()) -> KnownListing | None:
    """What Hemnet is known to have; None until Hemnet gave the listing an id."""
    if row.hemnet_id is None:
        return None
    known_imgs = tuple(k for k in (_known_image(img) for img in images) if k is not None)
    return KnownListing(
        listing_key=row.listing_key,
        hemnet_id=row.hemnet_id,
        sent=None if row.sent_json is None else listing_from_plain(row.sent_json),
        images=known_imgs,
        is_published=row.is_published,
        is_approved=row.is_approved,
        market_state=MarketState(row.market_state) if row.market_state else None,
        allowed_market_states=frozenset(MarketState(s) for s in (row.allowed_market_states or ())),
        sold=sale_from_plain(row.sold_json),
        seller_hash=row.sent_seller_hash,
        billing_hash=row.sent_billing_hash,
        image_right=image_right_from_plain(row.sent_image_right_json),
        approval_url=row.approval_url,
        rejected_hash=row.failed_hash,
    )
