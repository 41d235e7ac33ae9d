"""Building and reading a store's state in tests through the paths production runs.

The store has one way to write what the CRM wants (``save_desired_rows`` and
``mark_missing_rows``, which ingest uses) and one way to read every listing
(``read_listing_states``, which the sync pass uses). These are the one-listing shorthands
tests want, built on those paths so that a test's state is state production could write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from syncd.core.domain import Desired, KnownListing, Listing
from syncd.store.engine import Session
from syncd.store.listing_states import desired_of, known_of, read_listing_states
from syncd.store.listings import (
    DesiredRow,
    mark_missing_rows,
    save_desired_rows,
    stored_desired,
)
from syncd.usecases.ingest.spill import spilled


def save_desired(
    session: Session, listing: Listing, now: datetime, source_file_id: int | None = None
) -> None:
    """Record what the CRM wants for a listing as ingest does: same JSON text, same hashes;
    missing_since is cleared, first_seen_at set for a new listing only."""
    # ingest's own encoding of a parsed listing (spilled), not a second one kept equal here.
    _, key, agency_key, status, hashes, text, *_ = spilled(0, listing)
    _write(
        session,
        lambda: save_desired_rows(
            session, [DesiredRow(key, agency_key, status, hashes, text)], now, source_file_id
        ),
    )


def mark_missing(session: Session, listing_keys: Iterable[str], now: datetime) -> list[str]:
    """Mark listings absent from a full export as ingest does; returns the keys the store
    has (the others are left out, as ingest only marks listings it knows)."""
    keys = list(dict.fromkeys(listing_keys))
    stored = stored_desired(session, keys)
    marked = [key for key in keys if key in stored]
    _write(session, lambda: mark_missing_rows(session, marked, now))
    return marked


def load_known(session: Session) -> dict[str, KnownListing]:
    """Every listing Hemnet is known to have, by listing_key (the planner's ``known``)."""
    return known_of(read_listing_states(session))


def load_desired(session: Session) -> Desired:
    """Everything the CRM wants now (the planner's ``desired``), with removal guards' data."""
    return desired_of(session, read_listing_states(session))


def _write(session: Session, write: Callable[[], None]) -> None:
    # The batch writes bypass the ORM: pending ORM changes go first, and rows a test holds
    # are read again afterwards, so the test sees what the database now holds.
    session.flush()
    write()
    session.expire_all()
