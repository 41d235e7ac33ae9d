"""A listing's stage as the status views computed it, and when it is next polled.

Inside a caller's transaction: never commits; the stage is derived elsewhere (status).
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    Table,
    bindparam,
    update,
)
from sqlalchemy.orm import Session

from syncd.store.listings.rows import require, update_columns
from syncd.store.tables import ListingRow


def set_stage(
    session: Session,
    listing_key: str,
    stage: str,
    now: datetime,
    next_poll_at: datetime | None = None,
) -> None:
    update_columns(session, listing_key, now, stage=stage, next_poll_at=next_poll_at)


def record_stage(session: Session, listing_key: str, stage: str) -> bool:
    """Store the stage the status views computed; True when it changed.

    Leaves next_poll_at and updated_at alone: the stage is derived, not a new fact.
    """
    row = require(session, listing_key)
    if row.stage == stage:
        return False
    row.stage = stage
    session.flush()
    return True


def record_stages(session: Session, stages: dict[str, str]) -> None:
    """Store many computed stages at once (listing_key -> stage); a deleted listing is skipped.

    One executemany, not a statement per row: a status update stores every listing's stage.
    """
    if not stages:
        return
    table = cast(Table, ListingRow.__table__)
    session.execute(
        update(table)
        .where(table.c.listing_key == bindparam("key"))
        .values(stage=bindparam("new_stage")),
        [{"key": key, "new_stage": stage} for key, stage in stages.items()],
    )


def set_next_poll_at(
    session: Session, listing_key: str, next_poll_at: datetime | None, now: datetime
) -> None:
    update_columns(session, listing_key, now, next_poll_at=next_poll_at)
