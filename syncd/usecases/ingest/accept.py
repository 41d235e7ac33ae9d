"""An accepted file: one durable transaction stores its listings, skips and events, then its
receipt is written and the file archived. Only reached once the whole file has parsed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from syncd import metrics
from syncd.store.events import NewEvent, record_event, record_events
from syncd.store.files import update_export_file
from syncd.store.skipped import clear_skipped, record_skipped
from syncd.store.tables import FileOutcome
from syncd.usecases.ingest import archive
from syncd.usecases.ingest.agencies import save_agencies
from syncd.usecases.ingest.desired import Applied, hold_empty_export, save_listings
from syncd.usecases.ingest.export import IngestResult, Take, claim
from syncd.usecases.ingest.parse import Parsed
from syncd.usecases.ingest.receipts import RESULT_SUFFIX, bounded, receipt, summary, write_receipt

if TYPE_CHECKING:
    # For annotations only: the store's queries do every database access.
    from syncd.store.engine import Session

# The logger ingest has always logged under, whichever module of it speaks.
log = logging.getLogger("syncd.usecases.ingest")


def accept(take: Take, parsed: Parsed) -> IngestResult:
    """Store the parsed file; AlreadyTaken when its bytes were claimed meanwhile."""
    path, now = take.path, take.now
    empty_full = parsed.full and not parsed.agency_of
    outcome = FileOutcome.HELD if empty_full else FileOutcome.ACCEPTED
    day = take.config.paths.archive / f"{now:%Y/%m/%d}"
    target = archive.free_path(day, path.name, RESULT_SUFFIX)
    counts = {
        "records": parsed.records,
        "accepted": parsed.accepted,
        "skipped": parsed.skipped,
        "warnings": parsed.warnings.count,
    }
    applied = Applied()
    # Durable: the file moves right after this commit, so the commit must outlive power loss.
    with take.store.transaction(durable=True) as session:
        file_id = claim(
            session,
            name=path.name,
            sha256=take.sha256,
            again=take.again,
            size_bytes=path.stat().st_size,
            received_at=now,
            outcome=outcome,
            mapping=parsed.mapping.name,
            export_mode="full" if parsed.full else "incremental",
            archived_path=str(target),
            **counts,
        )
        if empty_full:
            hold_empty_export(session, take, parsed, file_id, applied)
        else:
            save_agencies(session, take.config, parsed, now)
            save_listings(session, take, parsed, file_id, applied)
        _note_skipped(session, take, parsed)
        _note_file(session, take, parsed)
        written = receipt(take, parsed, outcome, applied)
        update_export_file(session, file_id, result=bounded(written))
    write_receipt(target.with_name(target.name + RESULT_SUFFIX), written)
    archive.move(path, target)
    metrics.EXPORT_FILES.labels(outcome.value).inc()
    metrics.RECORDS.labels("accepted").inc(parsed.accepted)
    metrics.RECORDS.labels("skipped").inc(parsed.skipped)
    log.info(
        "ingest %s: %s, %s export via %s, %d record(s), %d accepted, %d skipped, "
        "%d warning(s), %d changed, %d missing, %d held",
        path.name,
        summary(outcome, parsed.skipped),
        "full" if parsed.full else "incremental",
        parsed.mapping.name,
        parsed.records,
        parsed.accepted,
        parsed.skipped,
        parsed.warnings.count,
        len(applied.changed),
        len(applied.missing),
        len(applied.held),
    )
    return IngestResult(
        export_file=path.name,
        outcome=outcome.value,
        changed_keys=tuple(applied.changed),
        moved_to=target,
        reason=applied.hold_reason,
        unchanged=parsed.unchanged,
        **counts,
    )


def _note_file(session: Session, take: Take, parsed: Parsed) -> None:
    """The file's own events: images the probe found Hemnet cannot fetch, a file read again."""
    record_events(
        session,
        [
            NewEvent(
                "image_unreachable",
                f"image {f['value']} {f['reason']} (checked at ingest of {take.name})",
                listing_key=f["listing_key"],
                data={"file": take.name, "url": f["value"]},
            )
            for f in parsed.probe_findings
        ],
        take.now,
    )
    if take.reread:
        path = take.path
        record_event(
            session,
            "export_changed",
            f"{path.name} changed after it was taken (its writer was not done): read again",
            take.now,
            data={"file": path.name, "read_again_from": str(path)},
        )


def _note_skipped(session: Session, take: Take, parsed: Parsed) -> None:
    """A skipped record is news on its listing: an event, and its last error until a later
    export brings the record usable again (which clears it)."""
    clear_skipped(session, parsed.agency_of, take.now)
    # A key skipped once and usable in another record of the file was not skipped.
    reasons = {k: v for k, v in parsed.skip_reasons.items() if k not in parsed.agency_of}
    if not reasons:
        return
    record_skipped(session, reasons, take.now)
    file_data = {"file": take.name}
    record_events(
        session,
        [
            NewEvent("record_skipped", message, listing_key=key, data=file_data)
            for key, message in reasons.items()
        ],
        take.now,
    )
