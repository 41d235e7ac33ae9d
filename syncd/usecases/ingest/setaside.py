"""Files no listing is taken from: a rejected file and a duplicate, each set aside with its
receipt and an event. They change no listing."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from syncd import metrics
from syncd.core.errors import ExportError, MappingError, ParseError
from syncd.store.events import record_event
from syncd.store.files import TakenFile
from syncd.store.tables import FileOutcome
from syncd.usecases.ingest import archive
from syncd.usecases.ingest.export import AlreadyTaken, IngestResult, Take, claim
from syncd.usecases.ingest.receipts import ERROR_SUFFIX, RESULT_SUFFIX, write_json

# The logger ingest has always logged under, whichever module of it speaks.
log = logging.getLogger("syncd.usecases.ingest")


def reject(take: Take, error: ExportError, mapping: str | None) -> IngestResult:
    """A file that cannot be used whole: to rejected/, with the reason beside it."""
    path, now, sha256 = take.path, take.now, take.sha256
    said = _without_path(error)
    target = archive.free_path(take.config.paths.rejected, path.name, ERROR_SUFFIX)
    details: dict[str, Any] = {
        "file": path.name,
        "sha256": sha256,
        "received_at": now.isoformat(),
        "outcome": FileOutcome.REJECTED.value,
        "summary": FileOutcome.REJECTED.value,
        "reason": error.reason,
        # A rejected file is used whole or not at all: nothing read before the break counts.
        "records": 0,
        "accepted": 0,
        "skipped": 0,
        "error": type(error).__name__,
        "mapping": mapping,
        "line": error.line if isinstance(error, ParseError) else None,
        "column": error.column if isinstance(error, ParseError) else None,
    }
    if isinstance(error, MappingError):
        details["mapping_field"] = error.field
        details["record_key"] = error.record_key
    try:
        with take.store.transaction(durable=True) as session:
            claim(
                session,
                name=path.name,
                sha256=sha256,
                again=take.again,
                size_bytes=path.stat().st_size,
                received_at=now,
                outcome=FileOutcome.REJECTED,
                mapping=mapping,
                result=details,
                archived_path=str(target),
            )
            record_event(
                session,
                "export_rejected",
                f"{path.name} rejected: {said}",
                now,
                data={"file": path.name},
            )
    except AlreadyTaken as taken:
        return duplicate(take, taken.first)
    receipt = target.with_name(target.name + ERROR_SUFFIX)
    return _set_aside(
        path, target, receipt, details, FileOutcome.REJECTED, said, f"rejected: {said}"
    )


def _without_path(error: ExportError) -> str:
    """The error as one line without the file's path (the inbox path means nothing later)."""
    text = str(error)
    prefix = f"{error.path}: " if error.path else ""
    return text[len(prefix) :] if prefix and text.startswith(prefix) else text


def duplicate(take: Take, first: TakenFile) -> IngestResult:
    """The same bytes again: no listing changes, the file is archived with a receipt."""
    path, now = take.path, take.now
    recorded = Path(first.archived_path) if first.archived_path else None
    interrupted = recorded is not None and first.name == path.name and not recorded.exists()
    if interrupted and recorded is not None:
        # The file's transaction committed but the move did not happen (a crash): finish it.
        target = recorded
        receipt = dict(first.result or {})
        receipt["completed_at"] = now.isoformat()
        reason = f"already taken at {first.received_at.isoformat()}; finished moving it"
        suffix = ERROR_SUFFIX if first.outcome == FileOutcome.REJECTED else RESULT_SUFFIX
    else:
        day = take.config.paths.archive / f"{now:%Y/%m/%d}"
        target = archive.free_path(day, path.name, RESULT_SUFFIX)
        reason = f"duplicate of {first.name} (received {first.received_at.isoformat()})"
        receipt = {
            "file": path.name,
            "sha256": take.sha256,
            "received_at": now.isoformat(),
            "outcome": FileOutcome.DUPLICATE.value,
            "reason": reason,
            "duplicate_of": first.name,
            "first_received_at": first.received_at.isoformat(),
            "first_outcome": first.outcome,
            "first_archived_path": first.archived_path,
            "changed_keys": [],
        }
        suffix = RESULT_SUFFIX
    with take.store.transaction(durable=True) as session:
        record_event(
            session, "export_duplicate", f"{path.name}: {reason}", now, data={"file": path.name}
        )
    receipt_path = target.with_name(target.name + suffix)
    told = f"duplicate, {reason}"
    return _set_aside(path, target, receipt_path, receipt, FileOutcome.DUPLICATE, reason, told)


def _set_aside(  # noqa: PLR0917
    path: Path,
    target: Path,
    receipt_path: Path,
    receipt: dict[str, Any],
    outcome: FileOutcome,
    reason: str,
    told: str,
) -> IngestResult:
    """A file no listing was taken from: moved to ``target``, its receipt beside it."""
    write_json(receipt_path, receipt)
    archive.move(path, target)
    metrics.EXPORT_FILES.labels(outcome.value).inc()
    log.info("ingest %s: %s", path.name, told)
    return IngestResult(
        export_file=path.name,
        outcome=outcome.value,
        records=0,
        accepted=0,
        skipped=0,
        warnings=0,
        changed_keys=(),
        moved_to=target,
        reason=reason,
    )
