"""A listing Hemnet rejected: recording the failure, and forgetting it ('syncd retry').

Inside a caller's transaction: never commits, never decides what to send.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from syncd.store.listings.rows import require, update_columns


def record_failure(
    session: Session, listing_key: str, error: str, now: datetime, failed_hash: str | None
) -> None:
    """Hemnet refused an op: nothing more is sent until the content hash changes."""
    update_columns(session, listing_key, now, last_error=error, failed_hash=failed_hash)


def clear_failure(session: Session, listing_key: str, now: datetime) -> bool:
    """Forget that Hemnet rejected the listing ('syncd retry KEY'); False if it was not."""
    row = require(session, listing_key)
    was_failed = row.failed_hash is not None
    row.failed_hash = None
    row.last_error = None
    row.updated_at = now
    session.flush()
    return was_failed
