"""Export files taken from the inbox: recorded each time they are read, found by their sha256.

Bookkeeping only; parsing is formats/, moving files is ingest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from syncd.core.errors import StateError
from syncd.store.tables import ExportFile, FileOutcome

# Outcomes of a file whose listings (or hold) now stand for its source.
_TAKEN = (FileOutcome.ACCEPTED.value, FileOutcome.HELD.value)


def find_export_file(session: Session, sha256: str) -> ExportFile | None:
    """The newest file taken with these exact bytes."""
    query = select(ExportFile).where(ExportFile.sha256 == sha256).order_by(ExportFile.id.desc())
    return session.scalars(query.limit(1)).first()


@dataclass(frozen=True, slots=True)
class TakenFile:
    """A file recorded as taken, as ingest tells a copy of it (``latest_copy_of``)."""

    id: int
    name: str
    outcome: str
    received_at: datetime
    archived_path: str | None
    result: dict[str, Any] | None  # its receipt


def latest_copy_of(session: Session, sha256: str) -> TakenFile | None:
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
    if latest != found.id:
        return None
    return TakenFile(
        found.id,
        found.name,
        found.outcome,
        found.received_at,
        found.archived_path,
        found.result_json,
    )


def claim_export_file(session: Session, *, sha256: str, again: bool = False, **fields: Any) -> int:
    """Record the file with these bytes as taken, ``fields`` as ``record_export_file``'s;
    its id. A file taken is always a new row, so that the newest row of a source is its
    latest export; so is one an operator sent back with 'syncd reprocess' (``again``).
    Only a rejection rejected again updates the earlier row. Look for a copy first
    (``latest_copy_of``): this records one all the same."""
    existing = find_export_file(session, sha256)
    rejected = FileOutcome.REJECTED
    if again or existing is None or existing.outcome != rejected or fields["outcome"] != rejected:
        return record_export_file(session, sha256=sha256, **fields).id
    update_export_file(session, existing.id, **fields)
    return existing.id


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
    file_id: int,
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
) -> None:
    """Change a recorded file (only the values given): its result once known, or a
    rejected file taken again under the same sha256."""
    row = session.get(ExportFile, file_id)
    if row is None:
        raise StateError(f"export file {file_id} is not in the state database")
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


def recent_export_files(session: Session, limit: int = 20) -> list[ExportFile]:
    query = select(ExportFile).order_by(ExportFile.received_at.desc(), ExportFile.id.desc())
    return list(session.scalars(query.limit(limit)))


def last_export_at(session: Session) -> datetime | None:
    """When the newest export file was received (for the no-export alert)."""
    newest: datetime | None = session.scalar(select(func.max(ExportFile.received_at)))
    return newest
