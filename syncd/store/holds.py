"""Holds: removals a guard stopped, kept until an operator releases them or they lapse.

A hold names the absence it stopped (each listing's ``missing_since``). A release covers
that absence only: it ends when the listing comes back, and a later absence is judged by
the guards again. A hold the current plan no longer asks for is closed as superseded.
Records, releases and closes holds; deciding when to hold is the planner's job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.core.errors import HoldError
from syncd.core.ops import UPDATE_EPISODE, Hold, Plan, UnpublishListing
from syncd.store.fence import scope_of
from syncd.store.tables import ExportFile, FileOutcome, HoldRow, ListingRow

log = logging.getLogger(__name__)


def add_hold(
    session: Session,
    agency_key: str,
    reason: str,
    listing_keys: Sequence[str],
    now: datetime,
    *,
    export_file_id: int | None = None,
    missing_since: Mapping[str, datetime] | None = None,
) -> HoldRow:
    row = HoldRow(
        agency_key=agency_key,
        reason=reason,
        listing_keys_json=sorted(listing_keys),
        export_file_id=export_file_id,
        missing_since_json=_since_text(missing_since) if missing_since is not None else None,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def open_holds(session: Session) -> list[HoldRow]:
    query = (
        select(HoldRow)
        .where(HoldRow.released_at.is_(None), HoldRow.superseded_at.is_(None))
        .order_by(HoldRow.id)
    )
    scope = scope_of(session)
    if scope is not None:
        # A fleet's instance plans, and so keeps or supersedes holds, for its agencies only.
        query = query.where(HoldRow.agency_key.in_(sorted(scope)))
    return list(session.scalars(query))


def get_hold(session: Session, hold_id: int) -> HoldRow | None:
    return session.get(HoldRow, hold_id)


def record_plan_holds(
    session: Session, holds: Iterable[Hold], now: datetime
) -> list[tuple[HoldRow, Hold]]:
    """Make the open holds what the plan holds now; returns the holds that are new.

    An open hold the plan still asks for (same agency, listings and absences) is kept, so
    its id stays what the operator was told; any other open hold of the plan is closed as
    superseded (its listings came back, or a later export changed what would go).
    """
    wanted = {_identity(h.agency_key, h.listing_keys, h.episodes()): h for h in holds}
    kept: set[tuple[object, ...]] = set()
    for row in open_holds(session):
        if row.missing_since_json is None:
            continue  # an empty export's hold: ended by a later full export (below)
        identity: tuple[object, ...] = (
            row.agency_key,
            tuple(sorted((str(k), str(v)) for k, v in row.missing_since_json.items())),
        )
        if identity in wanted and identity not in kept:
            kept.add(identity)
        else:
            row.superseded_at = now
            log.info("hold %d superseded: the plan no longer holds those removals", row.id)
    supersede_lapsed_export_holds(session, now)
    new: list[tuple[HoldRow, Hold]] = []
    for identity, hold in wanted.items():
        if identity in kept:
            continue
        row = add_hold(session, hold.agency_key, hold.reason, hold.listing_keys, now)
        row.missing_since_json = dict(zip(hold.listing_keys, hold.episodes(), strict=True))
        new.append((row, hold))
    session.flush()
    return new


def supersede_lapsed_export_holds(session: Session, now: datetime) -> None:
    """Close the open holds of empty exports that a later full export of the agency replaced."""
    for row in open_holds(session):
        later = _later_full_export(session, row) if row.missing_since_json is None else None
        if later is not None:
            row.superseded_at = now
            log.info("hold %d superseded by the later full export %s", row.id, later.name)
    session.flush()


@dataclass(frozen=True)
class Released:
    """What releasing a hold let through: the listings whose absence (or held update) it
    still covers."""

    hold_id: int
    listing_keys: tuple[str, ...]  # empty: nothing left to release, the hold was superseded
    why_nothing: str | None = None
    updates: bool = False  # a blanking update's hold, not a removal's


def release_hold(session: Session, hold_id: int, released_by: str, now: datetime) -> Released:
    """An operator confirmed the removals the hold stopped: the plan may now make them.

    A hold whose listings all came back (or whose export a later full export replaced) is
    closed as superseded instead: there is nothing left to confirm.
    """
    row = session.get(HoldRow, hold_id)
    if row is None:
        raise HoldError(f"there is no hold {hold_id}")
    if row.released_at is not None:
        raise HoldError(f"hold {hold_id} was already released by {row.released_by}")
    if row.superseded_at is not None:
        raise HoldError(
            f"hold {hold_id} was superseded at {row.superseded_at:%Y-%m-%d %H:%M} by a later "
            "export: nothing to release, nothing is unpublished"
        )
    if row.missing_since_json is None:
        return _release_empty_export(session, row, released_by, now)
    updates = _updates_of(row.missing_since_json)
    if updates:
        # A blanking update: the plan sends it once it is released (the plan supersedes
        # the hold instead when the CRM sent something else meanwhile).
        row.released_at = now
        row.released_by = released_by
        session.flush()
        return Released(row.id, tuple(sorted(updates)), updates=True)
    stopped = _since_of(row.missing_since_json)
    current = _missing_since(session, list(stopped))
    still = tuple(sorted(k for k, since in stopped.items() if current.get(k) == since))
    if not still:
        row.superseded_at = now
        session.flush()
        why = f"its {len(stopped)} listing(s) came back in a later full export"
        return Released(row.id, (), why)
    row.released_at = now
    row.released_by = released_by
    session.flush()
    return Released(row.id, still)


def _release_empty_export(
    session: Session, row: HoldRow, released_by: str, now: datetime
) -> Released:
    """An empty full export confirmed: its removals are made now, as of its arrival."""
    later = _later_full_export(session, row)
    if later is not None:
        row.superseded_at = now
        session.flush()
        return Released(row.id, (), f"full export {later.name} came later")
    keys = [str(k) for k in row.listing_keys_json]
    query = select(ListingRow).where(
        ListingRow.listing_key.in_(keys), ListingRow.agency_key == row.agency_key
    )
    absences: dict[str, datetime] = {}
    for listing in session.scalars(query):
        if listing.missing_since is None:
            # As ingest marks a listing a full export left out (listings.mark_missing_rows); the
            # absence starts when the export arrived, so the removal grace counts from there.
            listing.desired_json = None
            listing.missing_since = row.created_at
            listing.updated_at = now
        absences[listing.listing_key] = listing.missing_since
    if not absences:
        row.superseded_at = now
        session.flush()
        return Released(row.id, (), "none of its listings is still with the agency")
    row.missing_since_json = _since_text(absences)
    row.released_at = now
    row.released_by = released_by
    session.flush()
    return Released(row.id, tuple(sorted(absences)))


def require_released(released: Released) -> None:
    """HoldError when a release found its hold superseded (after that was committed)."""
    if not released.listing_keys:
        raise HoldError(
            f"hold {released.hold_id} was superseded: {released.why_nothing}: nothing to "
            "release, nothing is unpublished"
        )


def release_summary(released: Released, plan: Plan) -> list[str]:
    """What a release let through, in the words of the plan made after it ('syncd plan')."""
    keys = frozenset(released.listing_keys)
    if released.updates:
        head = (
            f"hold {released.hold_id} released for {len(keys)} listing(s): the held update "
            "is sent by the next apply; the plan for them:"
        )
        return [head, *(f"  {line}" for line in plan.lines(keys))]
    now = sum(1 for op in plan.ops if isinstance(op, UnpublishListing) and op.listing_key in keys)
    head = (
        f"hold {released.hold_id} released for {len(keys)} listing(s): {now} unpublished by "
        f"the next apply, {len(keys) - now} not now; the plan for them:"
    )
    return [head, *(f"  {line}" for line in plan.lines(keys))]


def _released(session: Session) -> Iterator[Mapping[str, object]]:
    """What the released holds in force recorded (``missing_since_json``), oldest first."""
    query = (
        select(HoldRow.missing_since_json)
        .where(
            HoldRow.released_at.is_not(None),
            HoldRow.superseded_at.is_(None),
            HoldRow.missing_since_json.is_not(None),
        )
        .order_by(HoldRow.id)
    )
    return iter(session.scalars(query))


def released_updates(session: Session) -> dict[str, str]:
    """listing_key -> the blanking update (its content hash) an operator released."""
    released: dict[str, str] = {}
    for stored in _released(session):
        released.update(_updates_of(stored))
    return released


def released_removals(session: Session) -> dict[str, datetime]:
    """listing_key -> the absence (missing_since) whose held removal an operator released."""
    released: dict[str, datetime] = {}
    for since in _released(session):
        released.update(_since_of(since))
    return released


@dataclass(frozen=True)
class _LaterExport:
    name: str


def _later_full_export(session: Session, row: HoldRow) -> _LaterExport | None:
    """An accepted full export of the hold's agency taken after the export it held."""
    if row.export_file_id is None:
        return None
    # Only the receipt's agency list is read: a receipt also lists every changed key.
    # JSON indexing, not json_extract: SQLAlchemy writes each engine's own operator.
    agencies = ExportFile.result_json["agencies"]
    query = (
        select(ExportFile.name, agencies)
        .where(
            ExportFile.id > row.export_file_id,
            ExportFile.export_mode == "full",
            ExportFile.outcome == FileOutcome.ACCEPTED.value,
        )
        .order_by(ExportFile.id)
    )
    for name, named in session.execute(query):
        if isinstance(named, list) and row.agency_key in named:
            return _LaterExport(name)
    return None


def _missing_since(session: Session, keys: Sequence[str]) -> dict[str, datetime]:
    query = select(ListingRow.listing_key, ListingRow.missing_since).where(
        ListingRow.listing_key.in_(keys), ListingRow.missing_since.is_not(None)
    )
    return {key: since for key, since in session.execute(query) if since is not None}


def _identity(
    agency_key: str, listing_keys: Sequence[str], episodes: Sequence[str]
) -> tuple[object, ...]:
    return (agency_key, tuple(sorted(zip(listing_keys, episodes, strict=True))))


def _since_text(since: Mapping[str, datetime]) -> dict[str, str]:
    return {key: at.isoformat() for key, at in sorted(since.items())}


def _since_of(stored: Mapping[str, object]) -> dict[str, datetime]:
    """The absences a removal hold stopped (a blanking hold's episodes are not times)."""
    return {
        str(key): datetime.fromisoformat(str(at))
        for key, at in stored.items()
        if not str(at).startswith(UPDATE_EPISODE)
    }


def _updates_of(stored: Mapping[str, object]) -> dict[str, str]:
    """The updates a blanking hold stopped: listing_key -> the desired content hash."""
    return {
        str(key): str(value).removeprefix(UPDATE_EPISODE)
        for key, value in stored.items()
        if str(value).startswith(UPDATE_EPISODE)
    }


# --- views ---------------------------------------------------------------------------------


def held_listing_keys(session: Session) -> frozenset[str]:
    """Listing keys an open hold stops (status views show them as held)."""
    return frozenset(str(key) for hold in open_holds(session) for key in hold.listing_keys_json)
