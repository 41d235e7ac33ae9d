"""A listing whose record an export skipped for errors: its last error says so until fixed.

Writes only ``listings.last_error`` (and ``updated_at``); never the desired or known side,
so a skipped record leaves the listing's last good state exactly as it was.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from syncd.store.tables import ListingRow

# Every last error an ingest writes starts with this, so a later export whose record for
# the listing is usable clears it, and never clears an error Hemnet gave.
SKIPPED_ERROR_PREFIX = "record skipped"

_CHUNK = 500  # keys per IN (...): well under SQLite's bound-parameter limit


def is_skipped_error(last_error: str | None) -> bool:
    """True when ``last_error`` is an ingest's skipped-record error (not Hemnet's)."""
    return last_error is not None and last_error.startswith(SKIPPED_ERROR_PREFIX)


def record_skipped(session: Session, errors: Mapping[str, str], now: datetime) -> list[str]:
    """Set the last error of each stored listing in ``errors`` (key -> message starting with
    ``SKIPPED_ERROR_PREFIX``); returns the keys that had a row.

    A listing Hemnet refused (``failed_hash`` set) keeps Hemnet's error: that is what blocks it.
    """
    keys = sorted(errors)
    found: list[str] = []
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        rows = session.execute(
            select(ListingRow.listing_key, ListingRow.failed_hash).where(
                ListingRow.listing_key.in_(chunk)
            )
        ).all()
        for key, failed_hash in rows:
            found.append(key)
            if failed_hash is not None:
                continue
            session.execute(
                update(ListingRow)
                .where(ListingRow.listing_key == key)
                .values(last_error=errors[key], updated_at=now)
            )
    return found


def clear_skipped(session: Session, usable_keys: Collection[str], now: datetime) -> list[str]:
    """Clear the skipped-record error of the listings whose record is now usable."""
    flagged = session.scalars(
        select(ListingRow.listing_key).where(
            # The partial index's own condition: it is read, not every listing.
            ListingRow.last_error.is_not(None),
            ListingRow.last_error.startswith(SKIPPED_ERROR_PREFIX, autoescape=True),
        )
    ).all()
    cleared = sorted(key for key in flagged if key in usable_keys)
    for start in range(0, len(cleared), _CHUNK):
        session.execute(
            update(ListingRow)
            .where(ListingRow.listing_key.in_(cleared[start : start + _CHUNK]))
            .values(last_error=None, updated_at=now)
        )
    return cleared
