"""The dirty set: the listings a pass must plan because something the planner reads of them
changed, and the ones it plans anyway (open ops, removals asked for, holds).

Writes through the ORM are marked by a flush listener (``install``); ingest's two bulk
writes mark their listings themselves (``mark_listings``). A pass reads the marks, plans,
and deletes exactly the marks it read in the transaction that records its plan: a mark
made meanwhile stays for the next pass. Marks; never decides what to send.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import delete, event, func, insert, inspect, literal, select
from sqlalchemy.orm import Session, sessionmaker

from syncd.core.clock import utc_now
from syncd.store.driver import execute_many
from syncd.store.fence import scope_of
from syncd.store.holds import held_listing_keys
from syncd.store.outbox import OPEN_STATUSES
from syncd.store.tables import AgencyRow, ImageRow, ListingRow, OperationRow, PlanMarkRow

# Columns of a listing the planner never reads: writing them alone marks nothing (a poll
# that finds nothing new still sets the next poll time, the stage and updated_at).
_NOT_PLANNED = frozenset(
    {
        "stage",
        "next_poll_at",
        "updated_at",
        "last_error",
        "visible_at",
        "published_at",
        "public_url",
        "first_seen_at",
        "desired_at",
        "source_file_id",
    }
)
# What the planner reads of an agency: its name and number (to create it), its Hemnet id.
_AGENCY_PLANNED = ("name", "organisation_number", "hemnet_id")
# Ids or keys bound in one statement, well under SQLite's limit on variables.
_IDS_PER_STATEMENT = 500
# Mark rows fetched from the driver at a time by a read of the marks.
_READ_CHUNK = 1000


@cache
def _mark_sql(count: int) -> str:
    """INSERT … SELECT of the listings the store has among ``count`` keys."""
    return (
        "INSERT INTO plan_marks (listing_key, marked_at) SELECT listing_key, ? FROM listings "
        f"WHERE listing_key IN ({', '.join('?' * count)})"
    )


@dataclass(frozen=True)
class Marks:
    """The marks one pass read: the listings to plan, and the rows to delete with its plan."""

    listing_keys: frozenset[str]
    ids: tuple[int, ...]


def mark_listings(session: Session, listing_keys: Collection[str], now: datetime) -> None:
    """These listings (those the store has) must be planned by the next pass.

    A few hundred keys per statement, each an INSERT … SELECT: at 10,000 listings an
    executemany of one row per key cost five times as much of an ingest.
    """
    keys = sorted(listing_keys)
    connection = session.connection()
    dialect = connection.dialect
    # Plain SQL to the driver: SQLAlchemy coerced each of the keys of an IN list one by one,
    # as much as the statement itself. The time as the column's type sends it.
    process = PlanMarkRow.marked_at.type.dialect_impl(dialect).bind_processor(dialect)
    at = now if process is None else process(now)
    for start in range(0, len(keys), _IDS_PER_STATEMENT):
        chunk = keys[start : start + _IDS_PER_STATEMENT]
        execute_many(connection, _mark_sql(len(chunk)), [(at, *chunk)])


def read_marks(session: Session) -> Marks:
    """The marks this pass plans: all of them, or in a fleet those of the agencies this
    instance holds (another's marks stay for its holder, which the pass would otherwise
    clear unplanned)."""
    ids: list[int] = []
    keys: set[str] = set()
    query = select(PlanMarkRow.id, PlanMarkRow.listing_key)
    scope = scope_of(session)
    if scope is not None:
        held = select(ListingRow.listing_key).where(ListingRow.agency_key.in_(sorted(scope)))
        query = query.where(PlanMarkRow.listing_key.in_(held))
    # Streamed: after a first ingest every listing is marked, and a buffered result of
    # 100,000 rows doubled this read's peak.
    for mark_id, key in session.execute(query, execution_options={"yield_per": _READ_CHUNK}):
        ids.append(mark_id)
        keys.add(key)
    return Marks(frozenset(keys), tuple(ids))


def clear_marks(session: Session, marks: Marks) -> None:
    """Delete the marks a pass read (by id: never one made after the read)."""
    ids = sorted(marks.ids)
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        chunk = ids[start : start + _IDS_PER_STATEMENT]
        session.execute(delete(PlanMarkRow).where(PlanMarkRow.id.in_(chunk)))


def due_listing_keys(session: Session) -> set[str]:
    """Listings a pass plans whether marked or not: those with an open op (a retry time may
    have come), removals full exports asked for (a grace may have ended; the mass-removal
    guard judges them together), and those an open hold names (a plan that left them out
    would close the hold)."""
    open_ops = select(OperationRow.listing_key).where(
        OperationRow.status.in_([s.value for s in OPEN_STATUSES]),
        OperationRow.listing_key.is_not(None),
    )
    keys = {str(key) for key in session.scalars(open_ops.distinct())}
    keys.update(_asked_removals(session))
    keys.update(held_listing_keys(session))
    return keys


def _asked_removals(session: Session) -> list[str]:
    """Listings a full export left out that are published on Hemnet."""
    # Only the missing ones are read (the partial index ix_listings_missing), then judged
    # here: with the other conditions in SQL, SQLite may walk the hemnet_id index instead,
    # every listing on Hemnet, on every pass.
    query = select(ListingRow.listing_key, ListingRow.hemnet_id, ListingRow.is_published).where(
        ListingRow.missing_since.is_not(None)
    )
    return [
        key
        for key, hemnet_id, published in session.execute(query)
        if hemnet_id is not None and published
    ]


def live_by_agency(session: Session) -> dict[str | None, int]:
    """Listings published on Hemnet and not sold, by the agency they were last sent under
    (None: never sent by syncd), as the mass-removal guard counts them; one aggregate."""
    agency = ListingRow.sent_json["agency_key"].as_string()
    query = (
        select(agency, func.count())
        .where(
            ListingRow.hemnet_id.is_not(None),
            ListingRow.is_published,
            # Both SQL NULL and the JSON null the JSON type stores for None.
            ListingRow.sold_json["price"].as_string().is_(None),
        )
        .group_by(agency)
    )
    return {key: int(count) for key, count in session.execute(query)}


# --- marking what the ORM writes -----------------------------------------------------------


def install(maker: sessionmaker[Session]) -> None:
    """Mark, at every flush of ``maker``'s sessions, the listings whose planned facts change."""
    event.listen(maker, "before_flush", _mark_flushed)


def _mark_flushed(session: Session, _context: object, _instances: object) -> None:
    marks: dict[str, datetime] = {}
    agencies: dict[str, datetime] = {}
    for row, whole in _touched(session):
        at = getattr(row, "updated_at", None) or utc_now()
        key = _changed_listing(row, whole)
        if key is not None:
            marks.setdefault(key, at)
        elif isinstance(row, AgencyRow) and (whole or _changed(row, only=_AGENCY_PLANNED)):
            agencies.setdefault(row.key, at)
    for key, at in marks.items():
        session.add(PlanMarkRow(listing_key=key, marked_at=at))
    for agency_key, at in agencies.items():
        # Only a listing still to be created needs its agency (core/plan/agencies.py).
        marked_at = literal(at, PlanMarkRow.marked_at.type)
        not_created = select(ListingRow.listing_key, marked_at).where(
            ListingRow.agency_key == agency_key, ListingRow.hemnet_id.is_(None)
        )
        session.connection().execute(
            insert(PlanMarkRow).from_select(["listing_key", "marked_at"], not_created)
        )


def _changed_listing(row: object, whole: bool) -> str | None:
    """The listing whose image changed (any of it), or whose planned column changed."""
    if isinstance(row, ImageRow):
        return row.listing_key
    if isinstance(row, ListingRow) and (whole or _changed(row, exclude=_NOT_PLANNED)):
        return row.listing_key
    return None


def _touched(session: Session) -> Iterable[tuple[object, bool]]:
    """Rows of this flush, and whether the row is new or deleted (all of it changes)."""
    for row in session.new:
        yield row, True
    for row in session.deleted:
        yield row, True
    for row in session.dirty:
        yield row, False


def _changed(
    row: object, *, exclude: Collection[str] = (), only: Collection[str] | None = None
) -> bool:
    for attr in inspect(row).attrs:
        if attr.key in exclude or (only is not None and attr.key not in only):
            continue
        if attr.history.has_changes():
            return True
    return False
