"""Per-listing history: events an operator reads with 'syncd show KEY'.

Append-only; must never hold tokens or personal identity numbers in message or data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
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


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One event for ``record_events``: what ``record_event`` takes, without the time."""

    kind: str
    message: str
    listing_key: str | None = None
    data: dict[str, Any] | None = None


def record_events(session: Session, new_events: Sequence[NewEvent], now: datetime) -> None:
    """Append many events in one executemany, in order (ingest writes one per listing)."""
    if not new_events:
        return
    session.execute(
        insert(cast(Table, EventRow.__table__)),
        [
            {
                "listing_key": event.listing_key,
                "at": now,
                "kind": event.kind,
                "message": event.message,
                "data_json": event.data,
            }
            for event in new_events
        ],
    )


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
