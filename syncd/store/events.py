"""Per-listing history: events an operator reads with 'syncd show KEY'.

Append-only; must never hold tokens or personal identity numbers in message or data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from syncd.store.driver import execute_many
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
    connection = session.connection()
    dialect = connection.dialect
    columns = _EVENTS.c
    at_process = columns.at.type.dialect_impl(dialect).bind_processor(dialect)
    at = now if at_process is None else at_process(now)
    # Callers may pass one data dict for many events (ingest does): encoded once while the
    # same object repeats, as the JSON column type would, then plain tuples to the driver.
    encode = columns.data_json.type.dialect_impl(dialect).bind_processor(dialect)
    last_data: object = _UNSET
    last_text: Any = None
    rows: list[tuple[Any, ...]] = []
    for event in new_events:
        data = event.data
        if data is not last_data:
            last_data = data
            last_text = data if encode is None else encode(data)
        rows.append((event.listing_key, at, event.kind, event.message, last_text))
    execute_many(connection, _INSERT_EVENTS_SQL, rows)


_EVENTS = cast(Table, EventRow.__table__)
_UNSET = object()
# What SQLAlchemy compiles for insert(events) with these columns.
_INSERT_EVENTS_SQL = (
    "INSERT INTO events (listing_key, at, kind, message, data_json) VALUES (?, ?, ?, ?, ?)"
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
