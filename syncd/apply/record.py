"""Recordings several handlers share; each runs inside the outcome's transaction.

The one place apply reaches the recording of Hemnet's state (``store_remote_state``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from syncd.adopt import record_adoption
from syncd.domain import Listing
from syncd.hemnet import RemoteImage, RemoteListing
from syncd.ops import Op
from syncd.poll import store_remote_state
from syncd.store.listings import forget_remote

if TYPE_CHECKING:
    # Type only: the store hands sessions out; apply never opens one itself.
    from sqlalchemy.orm import Session

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
