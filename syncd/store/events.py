"""Per-listing history: events an operator reads with 'syncd show KEY'.

Append-only; must never hold tokens or personal identity numbers in message or data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.store.tables import EventRow


def record_event(
    session: Session,
    kind: str,
    message: str,
    now: datetime,
    *,
    listing_key: str | None = None,
    data: dict[str, Any] | None = None,
) -> EventRow:
    row = EventRow(listing_key=listing_key, at=now, kind=kind, message=message, data_json=data)
    session.add(row)
    session.flush()
    return row


def events_of_listing(session: Session, listing_key: str, limit: int = 50) -> list[EventRow]:
    """The newest events of one listing, newest first."""
    query = (
        select(EventRow)
        .where(EventRow.listing_key == listing_key)
        .order_by(EventRow.at.desc(), EventRow.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def recent_events(session: Session, limit: int = 50) -> list[EventRow]:
    query = select(EventRow).order_by(EventRow.at.desc(), EventRow.id.desc()).limit(limit)
    return list(session.scalars(query))
