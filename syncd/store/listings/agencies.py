"""Agencies: their rows and the Hemnet ids the planner needs to create their listings.

Inside a caller's transaction: never commits, never decides what to send.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from syncd.core.domain import (
    Agency,
    KnownAgency,
)
from syncd.core.errors import StateError
from syncd.store.fence import scope_of
from syncd.store.tables import AgencyRow


def get_agency(session: Session, key: str) -> AgencyRow | None:
    return session.get(AgencyRow, key)


def save_agency(session: Session, agency: Agency, now: datetime) -> AgencyRow:
    row = session.get(AgencyRow, agency.key)
    if row is None:
        row = AgencyRow(key=agency.key)
        session.add(row)
    row.name = agency.name
    row.organisation_number = agency.organisation_number
    row.updated_at = now
    session.flush()
    return row


def set_agency_hemnet_id(session: Session, key: str, hemnet_id: str, now: datetime) -> None:
    row = session.get(AgencyRow, key)
    if row is None:
        raise StateError(f"agency {key} is not in the state database")
    row.hemnet_id = hemnet_id
    row.updated_at = now
    session.flush()


def known_agencies(session: Session) -> dict[str, KnownAgency]:
    """Agencies Hemnet has an id for, by key (the planner's ``agencies``)."""
    query = select(AgencyRow).where(AgencyRow.hemnet_id.is_not(None))
    scope = scope_of(session)
    if scope is not None:
        query = query.where(AgencyRow.key.in_(sorted(scope)))
    rows = session.scalars(query)
    return {row.key: KnownAgency(row.key, str(row.hemnet_id)) for row in rows}


def all_agencies(session: Session) -> list[AgencyRow]:
    return list(session.scalars(select(AgencyRow).order_by(AgencyRow.key)))
