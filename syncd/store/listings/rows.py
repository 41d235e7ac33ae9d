"""Finding a listing's row (it must be there) and setting its columns.

Inside a caller's transaction: never commits, never decides anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from syncd.core.errors import StateError
from syncd.store.tables import ListingRow


def require(session: Session, listing_key: str) -> ListingRow:
    row = session.get(ListingRow, listing_key)
    if row is None:
        raise StateError(f"listing {listing_key} is not in the state database")
    return row


def update_columns(session: Session, listing_key: str, now: datetime, **columns: Any) -> ListingRow:
    """Set columns of a listing's row (it must be there) and when it changed."""
    row = require(session, listing_key)
    for name, value in columns.items():
        setattr(row, name, value)
    row.updated_at = now
    session.flush()
    return row
