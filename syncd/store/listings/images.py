"""Known images: what Hemnet has of each listing's images, and their processing state.

Inside a caller's transaction: never commits, never decides what to send.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from syncd.core.domain import (
    ImageState,
    KnownImage,
)
from syncd.store.tables import ImageRow


def known_images(session: Session, listing_key: str) -> list[ImageRow]:
    query = (
        select(ImageRow)
        .where(ImageRow.listing_key == listing_key)
        .order_by(ImageRow.position, ImageRow.url)
    )
    return list(session.scalars(query))


def save_known_image(
    session: Session, listing_key: str, image: KnownImage, now: datetime, *, is_floor_plan: bool
) -> ImageRow:
    """Insert or update the image Hemnet has at ``image.url`` for this listing."""
    row = session.scalars(
        select(ImageRow).where(ImageRow.listing_key == listing_key, ImageRow.url == image.url)
    ).first()
    if row is None:
        row = ImageRow(listing_key=listing_key, url=image.url)
        session.add(row)
    row.hemnet_image_id = image.image_id
    row.state = image.state.value
    row.state_message = image.state_message
    row.position = image.order
    row.caption = image.caption
    row.revision = image.revision
    row.is_floor_plan = is_floor_plan
    row.updated_at = now
    session.flush()
    return row


def delete_known_image(session: Session, listing_key: str, url: str) -> bool:
    row = session.scalars(
        select(ImageRow).where(ImageRow.listing_key == listing_key, ImageRow.url == url)
    ).first()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def set_image_state(
    session: Session,
    listing_key: str,
    url: str,
    now: datetime,
    *,
    state: ImageState,
    state_message: str | None,
) -> bool:
    """What a poll read for one known image; False when the image is no longer known."""
    row = session.scalars(
        select(ImageRow).where(ImageRow.listing_key == listing_key, ImageRow.url == url)
    ).first()
    if row is None:
        return False
    row.state = state.value
    row.state_message = state_message
    row.updated_at = now
    session.flush()
    return True


def failed_images(session: Session) -> list[ImageRow]:
    """Images Hemnet could not process, over all listings (for the operator's alerts)."""
    query = (
        select(ImageRow)
        .where(ImageRow.state == ImageState.FAILED.value)
        .order_by(ImageRow.listing_key, ImageRow.url)
    )
    return list(session.scalars(query))
