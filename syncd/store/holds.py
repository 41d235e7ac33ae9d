"""Holds: removals a guard stopped, kept until an operator releases them.

Records and releases holds; deciding when to hold is plan.py's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.errors import StateError
from syncd.store.tables import HoldRow


def add_hold(
    session: Session,
    agency_key: str,
    reason: str,
    listing_keys: Sequence[str],
    now: datetime,
    *,
    export_file_id: int | None = None,
) -> HoldRow:
    row = HoldRow(
        agency_key=agency_key,
        reason=reason,
        listing_keys_json=sorted(listing_keys),
        export_file_id=export_file_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def open_holds(session: Session) -> list[HoldRow]:
    query = select(HoldRow).where(HoldRow.released_at.is_(None)).order_by(HoldRow.id)
    return list(session.scalars(query))


def get_hold(session: Session, hold_id: int) -> HoldRow | None:
    return session.get(HoldRow, hold_id)


def release_hold(session: Session, hold_id: int, released_by: str, now: datetime) -> HoldRow:
    """An operator confirmed the removals: they may now be planned."""
    row = session.get(HoldRow, hold_id)
    if row is None:
        raise StateError(f"there is no hold {hold_id}")
    if row.released_at is not None:
        raise StateError(f"hold {hold_id} was already released by {row.released_by}")
    row.released_at = now
    row.released_by = released_by
    session.flush()
    return row


def released_removals(session: Session) -> frozenset[str]:
    """Listing keys whose held removal an operator released."""
    query = select(HoldRow.listing_keys_json).where(HoldRow.released_at.is_not(None))
    return frozenset(str(key) for keys in session.scalars(query) for key in keys)


# --- views ---------------------------------------------------------------------------------


def held_listing_keys(session: Session) -> frozenset[str]:
    """Listing keys an open hold stops (status views show them as held)."""
    return frozenset(str(key) for hold in open_holds(session) for key in hold.listing_keys_json)
