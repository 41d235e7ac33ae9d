"""Export files taken from the inbox: recorded once each, found again by their sha256.

Bookkeeping only; parsing is formats/, moving files is ingest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from syncd.store.tables import ExportFile, FileOutcome


def find_export_file(session: Session, sha256: str) -> ExportFile | None:
    """The file already taken with these exact bytes (duplicate detection)."""
    return session.scalars(select(ExportFile).where(ExportFile.sha256 == sha256)).first()


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
    """Record one taken file. sha256 is unique: look for a duplicate first."""
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
