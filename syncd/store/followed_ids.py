"""Which Hemnet listing each stored listing follows: two short columns of every listing, for
reconcile's start (which of Hemnet's listings are syncd's), without decoding any listing.

Reads only; scoped by the fence like every listing read (store/fence.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.store.fence import scope_of
from syncd.store.tables import ListingRow

# Rows fetched from the driver at a time: the read holds a chunk, not every row at once.
CHUNK = 1000


def followed_ids(session: Session) -> Iterator[tuple[str, str | None]]:
    """(listing_key, hemnet_id or None) of every stored listing, by listing_key."""
    query = select(ListingRow.listing_key, ListingRow.hemnet_id).order_by(ListingRow.listing_key)
    scope = scope_of(session)
    if scope is not None:
        # A fleet's instance reconciles the agencies it holds, as it plans them.
        query = query.where(ListingRow.agency_key.in_(sorted(scope)))
    rows = session.execute(query.execution_options(yield_per=CHUNK))
    return ((key, hemnet_id) for key, hemnet_id in rows)
