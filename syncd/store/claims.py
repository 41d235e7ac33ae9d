"""Claims on export files: in a fleet sharing one inbox, one instance ingests a file and
the others skip it.

A claim is a row keyed by the file's identity (its name, size and modification time),
inserted in its own transaction before the ingest. A claim whose holder's heartbeat has
ended is taken over (the holder died mid-ingest; ingest is one transaction, so reading the
file again is safe). The claim is dropped once the file has left the inbox.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from syncd.store.tables import FileClaimRow, InstanceRow


def file_identity(path: Path) -> str | None:
    """What tells this file from another of the same name (None: it is gone already)."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return f"{path.name}|{stat.st_size}|{stat.st_mtime_ns}"


def claim(session: Session, identity: str, name: str, me: str, now: datetime) -> bool:
    """Claim the file for instance ``me``; False when a live instance holds its claim."""
    row = session.get(FileClaimRow, identity)
    if row is None:
        try:
            with session.begin_nested():
                session.add(FileClaimRow(identity=identity, name=name, holder=me, claimed_at=now))
        except IntegrityError:
            return False  # another instance claimed it at the same moment
        return True
    if row.holder == me:
        return True
    holder_alive = session.scalar(
        select(InstanceRow.id).where(InstanceRow.id == row.holder, InstanceRow.expires_at > now)
    )
    if holder_alive is not None:
        return False
    result = session.execute(
        update(FileClaimRow)
        .where(FileClaimRow.identity == identity, FileClaimRow.holder == row.holder)
        .values(holder=me, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def unclaim(session: Session, identity: str, me: str) -> None:
    session.execute(
        delete(FileClaimRow).where(FileClaimRow.identity == identity, FileClaimRow.holder == me)
    )
