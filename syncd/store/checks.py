"""Hemnet's checks of each listing as last read: the listing's completeness.

Bookkeeping only: poll decides when to read them, status shows them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.store.tables import ImageRow, ListingChecksRow


@dataclass(frozen=True)
class StoredChecks:
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    read_for: str
    read_at: datetime


def save_checks(
    session: Session,
    listing_key: str,
    *,
    errors: Sequence[str],
    warnings: Sequence[str],
    read_for: str,
    now: datetime,
) -> None:
    row = session.get(ListingChecksRow, listing_key)
    if row is None:
        row = ListingChecksRow(listing_key=listing_key)
        session.add(row)
    row.errors_json = list(errors)
    row.warnings_json = list(warnings)
    row.read_for = read_for
    row.read_at = now
    session.flush()


def checks_of(session: Session, listing_key: str) -> StoredChecks | None:
    row = session.get(ListingChecksRow, listing_key)
    return None if row is None else _stored(row)


def all_checks(session: Session) -> dict[str, StoredChecks]:
    """Every listing's last read checks, by listing_key (one query, for the status views)."""
    return {row.listing_key: _stored(row) for row in session.scalars(select(ListingChecksRow))}


def _stored(row: ListingChecksRow) -> StoredChecks:
    return StoredChecks(
        errors=tuple(str(m) for m in row.errors_json),
        warnings=tuple(str(m) for m in row.warnings_json),
        read_for=row.read_for,
        read_at=row.read_at,
    )


def known_image_urls(session: Session, listing_keys: Collection[str]) -> set[tuple[str, str]]:
    """(listing_key, url) of the images Hemnet already has for these listings."""
    keys = sorted(listing_keys)
    found: set[tuple[str, str]] = set()
    for start in range(0, len(keys), 500):
        query = select(ImageRow.listing_key, ImageRow.url).where(
            ImageRow.listing_key.in_(keys[start : start + 500])
        )
        found.update((key, url) for key, url in session.execute(query))
    return found
