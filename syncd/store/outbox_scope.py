"""Which agency an op is for, and the outbox rows of a set of agencies: what a fenced
store (store/fence.py) checks and scopes the outbox by.

A listing's op is its listing's agency's; an agency's own op (ensure_agency, no listing)
names its agency in its payload. Reads only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import Session

from syncd.core.ops import Op
from syncd.store.tables import ListingRow, OperationRow

# Keys bound in one statement, well under SQLite's limit on variables.
_KEYS_PER_STATEMENT = 500


def agencies_of_ops(session: Session, ops: Sequence[Op]) -> set[str]:
    """The agencies these ops are for (their listings' as stored, or their own)."""
    agencies: set[str] = set()
    listing_keys: list[str] = []
    for op in ops:
        if op.listing_key is not None:
            listing_keys.append(op.listing_key)
        else:
            agency = getattr(op, "agency", None)
            key = getattr(agency, "key", None)
            if isinstance(key, str):
                agencies.add(key)
    agencies.update(_agencies_of_listings(session, listing_keys))
    return agencies


def agency_of_row(session: Session, row: OperationRow) -> str:
    if row.listing_key is None:
        return _payload_agency(row.payload_json) or ""
    return next(iter(_agencies_of_listings(session, [row.listing_key])), "")


def in_scope(session: Session, scope: Iterable[str] | None) -> ColumnElement[bool]:
    """A condition on operations: the op is for one of the agencies ``scope`` (None: any)."""
    if scope is None:
        return true()
    agencies = sorted(scope)
    listings = select(ListingRow.listing_key).where(ListingRow.agency_key.in_(agencies))
    # Agencies' own ops are few (one per agency, and its retries): picked in Python from
    # their payloads, which no portable SQL reads.
    own = [
        op_id
        for op_id, payload in session.execute(
            select(OperationRow.id, OperationRow.payload_json).where(
                OperationRow.listing_key.is_(None)
            )
        )
        if _payload_agency(payload) in agencies
    ]
    return or_(
        and_(OperationRow.listing_key.is_not(None), OperationRow.listing_key.in_(listings)),
        OperationRow.id.in_(own),
    )


def _agencies_of_listings(session: Session, listing_keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    keys = sorted(set(listing_keys))
    for start in range(0, len(keys), _KEYS_PER_STATEMENT):
        found.update(
            session.scalars(
                select(ListingRow.agency_key)
                .where(ListingRow.listing_key.in_(keys[start : start + _KEYS_PER_STATEMENT]))
                .distinct()
            )
        )
    return found


def _payload_agency(payload: object) -> str | None:
    agency = payload.get("agency") if isinstance(payload, dict) else None
    key = agency.get("key") if isinstance(agency, dict) else None
    return key if isinstance(key, str) else None
