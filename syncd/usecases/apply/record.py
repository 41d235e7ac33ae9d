"""Recordings several handlers share; each runs inside the outcome's transaction.

The one place apply reaches the recording of Hemnet's state (``store_remote_state``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from syncd.core.domain import Listing
from syncd.core.errors import ApiError
from syncd.core.ops import Op
from syncd.hemnet.models import RemoteImage, RemoteListing
from syncd.store.events import record_event
from syncd.store.listings import forget_remote, get_listing, record_failure
from syncd.store.remote import store_remote_state
from syncd.usecases.adopt import record_adoption

if TYPE_CHECKING:
    # Type only: the store hands sessions out; apply never opens one itself.
    from syncd.store.engine import Session

# A change to the known state, run inside the transaction that records the outcome.
Record = Callable[["Session", datetime], None]


def key_of(op: Op) -> str:
    if op.listing_key is None:
        raise AssertionError(f"{op.kind} without a listing key")
    return op.listing_key


def remote_state(key: str, remote: RemoteListing) -> Record:
    def record(session: Session, now: datetime) -> None:
        store_remote_state(session, key, remote, now)

    return record


def forget_listing(key: str) -> Record:
    def record(session: Session, now: datetime) -> None:
        forget_remote(session, key, now)

    return record


def adopted(
    key: str, want: Listing, remote: RemoteListing, images: list[RemoteImage], why: str
) -> Record:
    def record(session: Session, now: datetime) -> None:
        record_adoption(session, key, remote, desired=want, images=images, now=now, why=why)

    return record


def rejected(op: Op, exc: ApiError) -> Record:
    """Hemnet refused the op as it is: its listing fails until its content changes."""
    text = "; ".join(exc.messages) or str(exc)

    def record(session: Session, now: datetime) -> None:
        if op.listing_key is None:
            return
        row = get_listing(session, op.listing_key)
        if row is not None:
            record_failure(session, op.listing_key, text, now, row.content_hash)
        record_event(
            session,
            "rejected",
            f"Hemnet refused {op.describe()}: {text}",
            now,
            listing_key=op.listing_key,
            data={
                "kind": op.kind,
                "status": exc.context.status,
                "request_id": exc.context.request_id,
            },
        )

    return record
