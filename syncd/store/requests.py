"""Requests an operator's command hands to the running daemon, and the small state changes
both carry out the same way (retry a listing, release a hold).

A command never writes beside a running daemon: it adds a request here and the daemon
carries it out on its store worker. Sending to Hemnet is not done here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.core.errors import NotFoundError
from syncd.store.holds import Released, get_hold, release_hold
from syncd.store.listings import clear_failure, get_listing
from syncd.store.outbox import make_due_now
from syncd.store.plan_marks import mark_listings
from syncd.store.tables import RequestRow

# Request kinds, as the commands name them; SYNC only asks for a pass ('syncd ingest').
APPLY, RETRY, HOLD_RELEASE, RECONCILE = "apply", "retry", "hold-release", "reconcile"
SYNC = "sync"
KINDS = (APPLY, RETRY, HOLD_RELEASE, RECONCILE, SYNC)


def add_request(
    session: Session, kind: str, argument: str | None, requested_by: str, now: datetime
) -> int:
    if kind not in KINDS:
        raise ValueError(f"unknown request kind {kind!r}")
    row = RequestRow(kind=kind, argument=argument, requested_by=requested_by, requested_at=now)
    session.add(row)
    session.flush()
    return row.id


def pending_requests(session: Session) -> list[RequestRow]:
    query = select(RequestRow).where(RequestRow.done_at.is_(None)).order_by(RequestRow.id)
    return list(session.scalars(query))


def has_pending(session: Session) -> bool:
    query = select(RequestRow.id).where(RequestRow.done_at.is_(None)).limit(1)
    return session.scalar(query) is not None


def get_request(session: Session, request_id: int) -> RequestRow | None:
    return session.get(RequestRow, request_id)


def finish_request(
    session: Session, request_id: int, exit_code: int, answer: str, now: datetime
) -> None:
    row = session.get(RequestRow, request_id)
    if row is None:
        return
    row.done_at = now
    row.exit_code = exit_code
    row.answer = answer
    session.flush()


# --- what a request does to the state (the same with or without a daemon) ------------------


def retry_listing(session: Session, listing_key: str, now: datetime) -> str:
    """Forget Hemnet's rejection and end the backoff of the listing's waiting ops."""
    if get_listing(session, listing_key) is None:
        raise NotFoundError(f"there is no listing {listing_key!r} in the state")
    was_failed = clear_failure(session, listing_key, now)
    waiting = make_due_now(session, listing_key, now)
    mark_listings(session, [listing_key], now)  # planned by the next pass, failed or not
    what = "rejection cleared" if was_failed else "was not rejected"
    return f"{listing_key}: {what}; {waiting} op(s) due now"


def release(session: Session, hold_id: int, released_by: str, now: datetime) -> Released:
    """An operator confirms a held removal (``holds.release_hold``). An unknown hold is a
    NotFoundError; one already released or superseded a HoldError. A release that finds the
    hold superseded returns no listings: the caller commits that, then raises
    (``holds.require_released``), so the hold stays closed."""
    if get_hold(session, hold_id) is None:
        raise NotFoundError(f"there is no hold {hold_id}")
    released = release_hold(session, hold_id, released_by, now)
    # A release changes what the plan may do with these listings, not their rows.
    mark_listings(session, released.listing_keys, now)
    return released
