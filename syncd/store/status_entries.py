"""The status book's rows in the store: the marks of listings whose status inputs were
written (set by triggers, migration 0010_statusbook) and each listing's built entry.

Read and written only for the status views; a fleet's instance reads and writes the
listings of the agencies it holds (``scope_of``). Decides nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, or_, select, true
from sqlalchemy.orm import Session

from syncd.store.checks import StoredChecks
from syncd.store.driver import execute_many
from syncd.store.fence import scope_of
from syncd.store.outbox import OPEN_STATUSES
from syncd.store.tables import (
    ListingChecksRow,
    ListingRow,
    OperationRow,
    StatusEntryRow,
    StatusMarkRow,
)

# Keys or ids bound in one statement, well under SQLite's limit on variables.
_PER_STATEMENT = 500
# Runs of ids per DELETE: two variables each.
_RUNS_PER_STATEMENT = 200
# Entries fetched at a time while the files are streamed (about 1 KB of text each).
_ENTRIES_PER_FETCH = 1000


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One listing's status as built (``status.book``)."""

    listing_key: str
    agency_key: str
    stage: str
    held: bool
    pending_ops: int
    built_blocked: str
    published_at: datetime | None
    blockers: tuple[str, ...]
    completeness: tuple[str, ...]
    json_text: str
    csv_line: str


def _in_scope(session: Session, column: Any) -> Any:
    scope = scope_of(session)
    return true() if scope is None else column.in_(sorted(scope))


def _marks_in_scope(session: Session, query: Any) -> Any:
    """``query`` of the marks, or in a fleet of those of the listings of the agencies this
    instance holds (a listing gone from the store counts by its entry's agency)."""
    scope = scope_of(session)
    if scope is None:
        return query
    agencies = sorted(scope)
    listed = select(ListingRow.listing_key).where(ListingRow.agency_key.in_(agencies))
    built = select(StatusEntryRow.listing_key).where(StatusEntryRow.agency_key.in_(agencies))
    return query.where(
        or_(StatusMarkRow.listing_key.in_(listed), StatusMarkRow.listing_key.in_(built))
    )


def status_mark_runs(session: Session) -> tuple[tuple[int, int], ...]:
    """The marks in scope as runs of consecutive ids, first and last (a few numbers however
    many marks): what ``clear_status_marks`` deletes after the refresh that read them."""
    query = _marks_in_scope(session, select(StatusMarkRow.id)).order_by(StatusMarkRow.id)
    runs: list[tuple[int, int]] = []
    # Streamed ids only: after an upgrade or a first ingest every listing is marked.
    for mark_id in session.scalars(query, execution_options={"yield_per": _ENTRIES_PER_FETCH}):
        if runs and runs[-1][1] == mark_id - 1:
            runs[-1] = (runs[-1][0], mark_id)
        else:
            runs.append((mark_id, mark_id))
    return tuple(runs)


def marked_listing_keys(session: Session) -> Iterator[str]:
    """Each listing marked (in scope) once, in the store's key order; streamed. Read in the
    same read transaction as ``status_mark_runs``, these are the listings of those marks."""
    query = _marks_in_scope(session, select(StatusMarkRow.listing_key).distinct())
    query = query.order_by(StatusMarkRow.listing_key)
    yield from session.scalars(query, execution_options={"yield_per": _ENTRIES_PER_FETCH})


def clear_status_marks(session: Session, runs: Sequence[tuple[int, int]]) -> None:
    """Delete the marks a refresh read (never one made after the read: every id of a run
    was read)."""
    for start in range(0, len(runs), _RUNS_PER_STATEMENT):
        chunk = runs[start : start + _RUNS_PER_STATEMENT]
        within = or_(*(StatusMarkRow.id.between(first, last) for first, last in chunk))
        # No session sync: no mark is loaded as an object, and the ORM's default fetched
        # every deleted row back (about 65 MB for 100,000 marks).
        session.execute(
            delete(StatusMarkRow).where(within),
            execution_options={"synchronize_session": False},
        )


def stale_for_block(session: Session, built_blocked: str) -> set[str]:
    """Listings with waiting ops whose entry was built under another sending block: their
    ``not_sent`` and next action say why nothing can be sent."""
    query = select(StatusEntryRow.listing_key).where(
        StatusEntryRow.pending_ops > 0,
        StatusEntryRow.built_blocked != built_blocked,
        _in_scope(session, StatusEntryRow.agency_key),
    )
    return set(session.scalars(query))


def held_entry_keys(session: Session) -> set[str]:
    """Listings whose entry says a hold stops them."""
    query = select(StatusEntryRow.listing_key).where(
        StatusEntryRow.held == true(), _in_scope(session, StatusEntryRow.agency_key)
    )
    return set(session.scalars(query))


def unbuilt_listing_keys(session: Session) -> Iterator[str]:
    """Stored listings (in scope) that have no entry, in key order; streamed (on a fresh
    store, every one)."""
    built = select(StatusEntryRow.listing_key)
    query = (
        select(ListingRow.listing_key)
        .where(ListingRow.listing_key.not_in(built), _in_scope(session, ListingRow.agency_key))
        .order_by(ListingRow.listing_key)
    )
    yield from session.scalars(query, execution_options={"yield_per": _ENTRIES_PER_FETCH})


def stored_listing_keys(session: Session) -> Iterator[str]:
    """Every stored listing's key (in scope), in key order."""
    query = (
        select(ListingRow.listing_key)
        .where(_in_scope(session, ListingRow.agency_key))
        .order_by(ListingRow.listing_key)
    )
    yield from session.scalars(query, execution_options={"yield_per": _ENTRIES_PER_FETCH})


_COLUMNS = (
    "listing_key",
    "agency_key",
    "stage",
    "held",
    "pending_ops",
    "built_blocked",
    "published_at",
    "view_json",
    "json_text",
    "csv_line",
)
_INSERT_SQL = (
    f"INSERT INTO status_entries ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)


def put_status_entries(
    session: Session, entries: Sequence[StatusEntry], gone: Collection[str]
) -> int:
    """Store these entries (replacing the listings' last ones) and drop those of ``gone``;
    returns how many entries were dropped."""
    built = sorted(entry.listing_key for entry in entries)
    for start in range(0, len(built), _PER_STATEMENT):
        chunk = built[start : start + _PER_STATEMENT]
        session.execute(delete(StatusEntryRow).where(StatusEntryRow.listing_key.in_(chunk)))
    dropped = 0
    ordered = sorted(gone)
    for start in range(0, len(ordered), _PER_STATEMENT):
        chunk = ordered[start : start + _PER_STATEMENT]
        # Only from this instance's agencies: another's listing is not gone, only not this
        # instance's to build.
        result = session.execute(
            delete(StatusEntryRow).where(
                StatusEntryRow.listing_key.in_(chunk),
                _in_scope(session, StatusEntryRow.agency_key),
            )
        )
        dropped += int(getattr(result, "rowcount", 0) or 0)
    if not entries:
        return dropped
    connection = session.connection()
    table = StatusEntryRow.__table__.c
    binders = {
        name: table[name].type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
        for name in ("held", "published_at", "view_json")
    }

    def bound(name: str, value: Any) -> Any:
        process = binders[name]
        return value if process is None else process(value)

    execute_many(
        connection,
        _INSERT_SQL,
        [
            (
                entry.listing_key,
                entry.agency_key,
                entry.stage,
                bound("held", entry.held),
                entry.pending_ops,
                entry.built_blocked,
                bound("published_at", entry.published_at),
                bound(
                    "view_json",
                    {"blockers": list(entry.blockers), "completeness": list(entry.completeness)},
                ),
                entry.json_text,
                entry.csv_line,
            )
            for entry in entries
        ],
    )
    return dropped


def status_texts(session: Session) -> Iterator[tuple[str, str]]:
    """Each listing's (status.json text, status.csv line), in listing_key order, fetched
    a thousand at a time."""
    query = (
        select(StatusEntryRow.json_text, StatusEntryRow.csv_line)
        .where(_in_scope(session, StatusEntryRow.agency_key))
        .order_by(StatusEntryRow.listing_key)
    )
    rows = session.execute(query, execution_options={"yield_per": _ENTRIES_PER_FETCH})
    yield from ((json_text, csv_line) for json_text, csv_line in rows)


def stage_counts(session: Session) -> dict[str, int]:
    """Listings per stage, as last built."""
    query = (
        select(StatusEntryRow.stage, func.count())
        .where(_in_scope(session, StatusEntryRow.agency_key))
        .group_by(StatusEntryRow.stage)
    )
    return {str(stage): int(count) for stage, count in session.execute(query)}


def oldest_awaiting(session: Session, stage: str) -> datetime | None:
    """When the listing waiting longest in ``stage`` (awaiting approval) was published."""
    query = select(func.min(StatusEntryRow.published_at)).where(
        StatusEntryRow.stage == stage,
        _in_scope(session, StatusEntryRow.agency_key),
    )
    found: datetime | None = session.execute(query).scalar_one_or_none()
    return found


def read_status_entries(
    session: Session, order: Sequence[str], *, stage: str | None = None, limit: int | None = None
) -> list[StatusEntry]:
    """Entries held first, then by stage in ``order`` (if any), then by key; of one
    ``stage`` if given; at most ``limit``."""
    query = select(StatusEntryRow).where(_in_scope(session, StatusEntryRow.agency_key))
    if stage:
        query = query.where(StatusEntryRow.stage == stage)
    if order:
        rank = case(
            {name: index for index, name in enumerate(order)},
            value=StatusEntryRow.stage,
            else_=len(order),
        )
        query = query.order_by(case((StatusEntryRow.held == true(), 0), else_=1), rank)
    query = query.order_by(StatusEntryRow.listing_key).limit(limit)
    return [
        StatusEntry(
            listing_key=row.listing_key,
            agency_key=row.agency_key,
            stage=row.stage,
            held=row.held,
            pending_ops=row.pending_ops,
            built_blocked=row.built_blocked,
            published_at=row.published_at,
            blockers=tuple(str(b) for b in row.view_json["blockers"]),
            completeness=tuple(str(c) for c in row.view_json["completeness"]),
            json_text=row.json_text,
            csv_line=row.csv_line,
        )
        for row in session.scalars(query)
    ]


def open_counts_of(session: Session, listing_keys: Sequence[str]) -> dict[str, int]:
    """listing_key -> its ops planned, in flight or of unknown outcome, for these keys."""
    counts: dict[str, int] = {}
    for start in range(0, len(listing_keys), _PER_STATEMENT):
        chunk = listing_keys[start : start + _PER_STATEMENT]
        query = (
            select(OperationRow.listing_key, func.count())
            .where(
                OperationRow.listing_key.in_(chunk),
                OperationRow.status.in_([s.value for s in OPEN_STATUSES]),
            )
            .group_by(OperationRow.listing_key)
        )
        counts.update((str(key), int(count)) for key, count in session.execute(query))
    return counts


def checks_of_keys(session: Session, listing_keys: Sequence[str]) -> dict[str, StoredChecks]:
    """Hemnet's checks as last read, of these listings (those read)."""
    found: dict[str, StoredChecks] = {}
    for start in range(0, len(listing_keys), _PER_STATEMENT):
        chunk = listing_keys[start : start + _PER_STATEMENT]
        query = select(ListingChecksRow).where(ListingChecksRow.listing_key.in_(chunk))
        for row in session.scalars(query):
            found[row.listing_key] = StoredChecks(
                errors=tuple(str(m) for m in row.errors_json),
                warnings=tuple(str(m) for m in row.warnings_json),
                read_for=row.read_for,
                read_at=row.read_at,
            )
    return found
