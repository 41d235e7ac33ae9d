"""Export files taken from the inbox: recorded each time they are read, found by their sha256.

Bookkeeping only; parsing is formats/, moving files is ingest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from syncd.store.tables import ExportFile, FileOutcome

# Outcomes of a file whose listings (or hold) now stand for its source.
_TAKEN = (FileOutcome.ACCEPTED.value, FileOutcome.HELD.value)


def find_export_file(session: Session, sha256: str) -> ExportFile | None:
    """The newest file taken with these exact bytes."""
    query = select(ExportFile).where(ExportFile.sha256 == sha256).order_by(ExportFile.id.desc())
    return session.scalars(query.limit(1)).first()


def latest_copy_of(session: Session, sha256: str) -> ExportFile | None:
    """The file taken with these exact bytes if it is still the latest export of its source
    (the mapping that read it): a copy of it changes nothing and is a duplicate. A copy of an
    older export is not: the exports since may have changed what it describes."""
    found = find_export_file(session, sha256)
    if found is None or found.outcome not in _TAKEN or found.mapping is None:
        return None
    query = (
        select(ExportFile.id)
        .where(ExportFile.mapping == found.mapping, ExportFile.outcome.in_(_TAKEN))
        .order_by(ExportFile.id.desc())
    )
    latest = session.scalars(query.limit(1)).first()
    return found if latest == found.id else None


def record_export_file(
    session: Session,
    *,
    name: str,
    sha256: str,
    size_bytes: int,
    received_at: datetime,
    outcome: FileOutcome,
    mapping: str | None = None,
    export_mode: str | None = None,
    records: int = 0,
    accepted: int = 0,
    skipped: int = 0,
    warnings: int = 0,
    result: dict[str, Any] | None = None,
    archived_path: str | None = None,
) -> ExportFile:
    """Record one taken file (look for a duplicate first: ``latest_copy_of``)."""
    row = ExportFile(
        name=name,
        sha256=sha256,
        size_bytes=size_bytes,
        received_at=received_at,
        outcome=outcome.value,
        mapping=mapping,
        export_mode=export_mode,
        records=records,
        accepted=accepted,
        skipped=skipped,
        warnings=warnings,
        result_json=result,
        archived_path=archived_path,
    )
    session.add(row)
    session.flush()
    return row


def update_export_file(
    session: Session,
    row: ExportFile,
    *,
    name: str | None = None,
    size_bytes: int | None = None,
    received_at: datetime | None = None,
    outcome: FileOutcome | None = None,
    mapping: str | None = None,
    export_mode: str | None = None,
    records: int | None = None,
    accepted: int | None = None,
    skipped: int | None = None,
    warnings: int | None = None,
    result: dict[str, Any] | None = None,
    archived_path: str | None = None,
) -> ExportFile:
    """Change a recorded file (only the values given): its result once known, or a
    rejected file taken again under the same sha256."""
    given: dict[str, Any] = {
        "name": name,
        "size_bytes": size_bytes,
        "received_at": received_at,
        "outcome": outcome.value if outcome is not None else None,
        "mapping": mapping,
        "export_mode": export_mode,
        "records": records,
        "accepted": accepted,
        "skipped": skipped,
        "warnings": warnings,
        "result_json": result,
        "archived_path": archived_path,
    }
    for column, value in given.items():
        if value is not None:
            setattr(row, column, value)
    session.flush()
    return row


def recent_export_files(session: Session, limit: int = 20) -> list[ExportFile]:
    query = select(ExportFile).order_by(ExportFile.received_at.desc(), ExportFile.id.desc())
    return list(session.scalars(query.limit(limit)))


def last_export_at(session: Session) -> datetime | None:
    """When the newest export file was received (for the no-export alert)."""
    newest: datetime | None = session.scalar(select(func.max(ExportFile.received_at)))
    return newest
