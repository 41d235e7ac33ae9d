"""The operator's view of every listing: stage, images, approval, last error, next action.

Reads the store; its only writes are the computed stage (``listings.stage``) and the
status gauges. Never calls Hemnet and never decides what to send.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from syncd import metrics
from syncd.domain import ImageState, Listing, to_plain
from syncd.errors import (
    ApiError,
    AuthenticationApiError,
    ForbiddenApiError,
    RejectedApiError,
    RemoteDriftError,
    RetryableApiError,
)
from syncd.progress import (
    Stage,
    awaiting_approval_for,
    conflicts,
    next_action,
    publish_blockers,
    stage_of,
)
from syncd.store.blocked import SendingBlocked, sending_blocked
from syncd.store.checks import StoredChecks, all_checks, checks_of
from syncd.store.engine import Session, Store
from syncd.store.events import events_of_listing
from syncd.store.holds import held_listing_keys
from syncd.store.listing_states import ImageFacts, ListingState, read_listing_states
from syncd.store.listings import desired_listing, get_listing, known_images, record_stages
from syncd.store.outbox import open_operation_counts, operations_of_listing
from syncd.store.skipped import is_skipped_error
from syncd.store.tables import ListingRow

log = logging.getLogger(__name__)

STATUS_JSON = "status.json"
STATUS_CSV = "status.csv"

# The columns of status.csv and the keys of each listing in status.json, in this order
# (docs/status.md describes each one; CRMs read them, so only ever add at the end).
STATUS_FILE_COLUMNS: tuple[str, ...] = (
    "listing_key",
    "agency",
    "address",
    "stage",
    "hemnet_id",
    "hemnet_url",
    "visible",
    "approval_url",
    "awaiting_approval_since",
    "images_completed",
    "images_total",
    "images_failed",
    "last_error",
    "next_action",
    "updated_at",
    "held",
    "not_sent",
    "completeness",
)

# The last export skipped this listing's record: Hemnet keeps the last good state meanwhile.
SKIPPED_ACTION = "fix the record in the CRM (see last error); Hemnet keeps the last good state"


@dataclass(frozen=True)
class StatusRow:
    """One listing as the operator sees it."""

    listing_key: str
    address: str
    agency: str
    hemnet_id: str | None
    stage: Stage
    images_completed: int
    images_total: int  # images the CRM wants (what Hemnet has when the CRM dropped it)
    images_failed: int
    visible: bool
    approval_url: str | None
    published_at: datetime | None
    awaiting_approval_s: float | None  # only while the stage is awaiting_approval
    hemnet_url: str | None
    last_error: str | None
    next_action: str
    updated_at: datetime
    blockers: tuple[str, ...] = ()  # what the CRM data lacks before publishing
    held: bool = False  # a removal guard holds it (shown beside the stage, which stays true)
    not_sent: str | None = None  # why its waiting ops cannot be sent now (and since when)
    # Hemnet's check warnings as last read (no description, few images): advice, not blocks
    completeness: tuple[str, ...] = ()

    def file_record(self) -> dict[str, Any]:
        """The listing as status.json and status.csv carry it (see STATUS_FILE_COLUMNS)."""
        awaiting = self.published_at if self.stage is Stage.AWAITING_APPROVAL else None
        return {
            "listing_key": self.listing_key,
            "agency": self.agency,
            "address": self.address,
            "stage": self.stage.value,
            "hemnet_id": self.hemnet_id,
            "hemnet_url": self.hemnet_url,
            "visible": self.visible,
            "approval_url": self.approval_url,
            "awaiting_approval_since": awaiting.isoformat() if awaiting else None,
            "images_completed": self.images_completed,
            "images_total": self.images_total,
            "images_failed": self.images_failed,
            "last_error": self.last_error,
            "next_action": self.next_action,
            "updated_at": self.updated_at.isoformat(),
            "held": self.held,
            "not_sent": self.not_sent,
            "completeness": " ".join(self.completeness),
        }


def _address(listing: Listing | None) -> str:
    if listing is None:
        return ""
    addr = listing.address
    place = " ".join(p for p in (addr.postal_code, addr.city) if p)
    return ", ".join(p for p in (addr.street, place) if p)


def _image_counts(desired: Listing | None, images: Sequence[ImageFacts]) -> tuple[int, int, int]:
    """(completed, total, failed) over the images the CRM wants, matched by source URL."""
    if desired is not None:
        wanted = {img.url for img in desired.images}
        images = [img for img in images if img.url in wanted]
        total = len(wanted)
    else:
        total = len(images)
    completed = sum(1 for img in images if img.state == ImageState.COMPLETED.value)
    failed = sum(1 for img in images if img.state == ImageState.FAILED.value)
    return completed, total, failed


HOLD_ACTION = "its removal is held: review with 'syncd hold list', then 'syncd hold release ID'"


def _not_sent(blocked: SendingBlocked | None, pending_ops: int) -> str | None:
    """Why this listing's waiting ops do not reach Hemnet now (None: nothing stops them)."""
    if blocked is None or not pending_ops:
        return None
    since = blocked.since.strftime("%Y-%m-%d %H:%M UTC")
    return f"{blocked.reason} (since {since})"


def _build_row(
    state: ListingState,
    *,
    held: bool,
    pending_ops: int,
    now: datetime,
    blocked: SendingBlocked | None = None,
    completeness: tuple[str, ...] = (),
) -> StatusRow:
    desired, known = state.desired, state.known
    stage = stage_of(desired, known, failed=state.refused, pending_ops=pending_ops)
    not_sent = _not_sent(blocked, pending_ops)
    action = next_action(stage)
    if stage is Stage.CONFLICT:
        # The conflict itself, so that status.json and status.csv say what to resolve.
        action = "resolve by hand: " + "; ".join(conflicts(desired, known))
    if is_skipped_error(state.last_error):
        action = SKIPPED_ACTION
    if held:
        action = HOLD_ACTION
    if not_sent is not None and blocked is not None:
        action = f"nothing can be sent now: {blocked.remedy}"
    completed, total, failed = _image_counts(desired, state.images)
    shown = desired if desired is not None else (known.sent if known else None)
    waited = (
        awaiting_approval_for(state.published_at, now).total_seconds()
        if stage is Stage.AWAITING_APPROVAL and state.published_at is not None
        else None
    )
    blockers = (
        tuple(publish_blockers(desired))
        if desired is not None and stage is Stage.WAITING_FOR_DATA
        else ()
    )
    return StatusRow(
        listing_key=state.listing_key,
        address=_address(shown),
        agency=state.agency_key,
        hemnet_id=state.hemnet_id,
        stage=stage,
        images_completed=completed,
        images_total=total,
        images_failed=failed,
        visible=state.is_published and state.is_approved,
        approval_url=state.approval_url,
        published_at=state.published_at,
        awaiting_approval_s=waited,
        hemnet_url=state.public_url,
        last_error=state.last_error,
        next_action=action,
        updated_at=state.updated_at,
        blockers=blockers,
        held=held,
        not_sent=not_sent,
        completeness=completeness,
    )


def _status_rows(session: Session, now: datetime) -> list[tuple[ListingState, StatusRow]]:
    states = read_listing_states(session)
    pending = open_operation_counts(session)
    held = held_listing_keys(session)
    read_checks = all_checks(session)
    blocked = sending_blocked(session)
    return [
        (
            state,
            _build_row(
                state,
                held=state.listing_key in held,
                pending_ops=pending.get(state.listing_key, 0),
                now=now,
                completeness=_completeness(read_checks.get(state.listing_key)),
                blocked=blocked,
            ),
        )
        for state in states
    ]


def _completeness(read: StoredChecks | None) -> tuple[str, ...]:
    return () if read is None else tuple(message.strip() for message in read.warnings)


def read_status_rows(store: Store, now: datetime) -> list[StatusRow]:
    """Every listing's status row, by listing_key, from one read snapshot; writes nothing."""
    with store.read() as session:
        return [row for _, row in _status_rows(session, now)]


def observe(rows: Sequence[StatusRow]) -> None:
    """Set the stage and approval-wait gauges from these rows (every stage, zeros too)."""
    counts = Counter(row.stage for row in rows)
    for stage in Stage:
        metrics.LISTINGS_BY_STAGE.labels(stage.value).set(counts.get(stage, 0))
    waits = [row.awaiting_approval_s for row in rows if row.awaiting_approval_s is not None]
    metrics.OLDEST_AWAITING_APPROVAL.set(max(waits, default=0.0))


def status_rows(store: Store, now: datetime) -> list[StatusRow]:
    """Every listing's status row; stores each changed stage and sets the status gauges.

    The one write is small and only touches rows whose stage moved; run it on the
    daemon's single writer.
    """
    with store.read() as session:
        pairs = _status_rows(session, now)
    moved = {
        state.listing_key: row.stage.value for state, row in pairs if state.stage != row.stage.value
    }
    if moved:
        with store.transaction() as session:
            record_stages(session, moved)
    if moved:
        log.debug("status: %d listing stage(s) changed", len(moved))
    rows = [row for _, row in pairs]
    observe(rows)
    return rows


def stage_summary(rows: Sequence[StatusRow]) -> dict[str, int]:
    """Listings per stage, in lifecycle order, stages with none left out."""
    counts = Counter(row.stage for row in rows)
    return {stage.value: counts[stage] for stage in Stage if counts.get(stage)}


# --- status files --------------------------------------------------------------------------


def _write_atomically(path: Path, text: str) -> None:
    # A temp file in the same directory, then rename: a reader never sees half a file.
    # Dot-prefixed so the inbox watcher ignores it if the directory is the inbox.
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets
# (OWASP, "CSV Injection"); CRM text such as a title "=HYPERLINK(...)" must stay text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """``value`` as a CSV cell a spreadsheet shows as text: a string that would start a
    formula gets a leading apostrophe (OWASP's advice); other values are unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def write_status_files(rows: Sequence[StatusRow], directory: Path) -> None:
    """Write status.json and status.csv into ``directory`` for CRMs that read files."""
    directory.mkdir(parents=True, exist_ok=True)
    records = [row.file_record() for row in rows]
    document = {"columns": list(STATUS_FILE_COLUMNS), "listings": records}
    _write_atomically(
        directory / STATUS_JSON, json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=STATUS_FILE_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: spreadsheet_cell(value) for key, value in record.items()})
    _write_atomically(directory / STATUS_CSV, buffer.getvalue())


# --- one listing in detail -----------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a listing's history: an event, or an operation and its outcome."""

    at: datetime
    source: str  # "event" or "operation"
    kind: str
    text: str
    status: str | None = None  # operation status (intent, succeeded, failed, ...)
    http_status: int | None = None
    request_id: str | None = None
    attempts: int | None = None


@dataclass(frozen=True)
class ImageLine:
    url: str
    position: int
    state: str | None
    hemnet_image_id: str | None
    state_message: str | None
    wanted: bool  # still in the CRM's export


@dataclass(frozen=True)
class KnownFacts:
    """What Hemnet is known to have of a listing, as 'syncd show' and the listing page
    show it (times as ISO text, the sale in its stored plain form)."""

    hemnet_id: str | None
    is_published: bool
    is_approved: bool
    market_state: str | None
    allowed_market_states: list[str]
    approval_url: str | None
    public_url: str | None
    published_at: str | None
    visible_at: str | None
    sold: dict[str, Any] | None
    image_right: dict[str, Any] | None  # as last sent (Hemnet may override terms)
    applied_hash: str | None
    content_hash: str | None
    in_step: bool


@dataclass(frozen=True)
class ListingDetail:
    """Everything 'syncd show KEY' and the status page's listing page show."""

    row: StatusRow
    desired: dict[str, Any] | None  # the listing as the CRM wants it (plain JSON form)
    known: KnownFacts  # what Hemnet is known to have
    images: tuple[ImageLine, ...]
    history: tuple[HistoryEntry, ...]  # newest first
    remedy: str | None  # what to do about last_error
    missing_since: datetime | None = None
    open_ops: int = 0
    held: bool = False
    sending_remedy: str | None = None  # what to do while nothing can be sent


_REMEDIES: tuple[tuple[type[ApiError], range], ...] = (
    (AuthenticationApiError, range(401, 402)),
    (ForbiddenApiError, range(403, 404)),
    (RemoteDriftError, range(404, 405)),
    (RemoteDriftError, range(409, 410)),
    (RetryableApiError, range(429, 430)),
    (RetryableApiError, range(500, 600)),
    (RejectedApiError, range(400, 500)),
)


def remedy_for(http_status: int | None, stage: Stage) -> str:
    """What to do about a listing's last error, from Hemnet's status code if there was one."""
    if http_status is None:
        return next_action(stage)
    for error_class, statuses in _REMEDIES:
        if http_status in statuses:
            return error_class.remedy
    return ApiError.remedy


def _known_facts(row: ListingRow, *, in_conflict: bool) -> KnownFacts:
    # In step means nothing is left to do, which a conflict never is (its sale, status and
    # agency are outside the content hash).
    in_step = row.applied_hash is not None and row.applied_hash == row.content_hash
    return KnownFacts(
        hemnet_id=row.hemnet_id,
        is_published=row.is_published,
        is_approved=row.is_approved,
        market_state=row.market_state,
        allowed_market_states=list(row.allowed_market_states or []),
        approval_url=row.approval_url,
        public_url=row.public_url,
        published_at=row.published_at.isoformat() if row.published_at else None,
        visible_at=row.visible_at.isoformat() if row.visible_at else None,
        sold=row.sold_json,
        image_right=row.sent_image_right_json,
        applied_hash=row.applied_hash,
        content_hash=row.content_hash,
        in_step=in_step and not in_conflict,
    )


def _operation_text(kind: str, payload: dict[str, Any], error: str | None) -> str:
    changed = payload.get("changed")
    detail = f" {', '.join(str(c) for c in changed)}" if isinstance(changed, list) else ""
    url = payload.get("url") or (payload.get("image") or {}).get("url")
    detail += f" {url}" if isinstance(url, str) else ""
    return f"{kind}{detail}" + (f": {error}" if error else "")


def _without_secrets(desired: dict[str, Any] | None) -> dict[str, Any] | None:
    # The seller's identity number (personnummer) is never shown or logged.
    if desired is None or not isinstance(desired.get("seller"), dict):
        return desired
    seller = dict(desired["seller"])
    if seller.get("identity_number"):
        seller["identity_number"] = "(set, not shown)"
    return {**desired, "seller": seller}


def listing_detail(
    store: Store, listing_key: str, now: datetime, history_limit: int = 50
) -> ListingDetail | None:
    """One listing with its images and history (events and operations); None if unknown."""
    with store.read() as session:
        row = get_listing(session, listing_key)
        if row is None:
            return None
        images = known_images(session, listing_key)
        ops = operations_of_listing(session, listing_key, history_limit)
        events = events_of_listing(session, listing_key, history_limit)
        held = listing_key in held_listing_keys(session)
        (state,) = read_listing_states(session, only=listing_key)
        read_checks = checks_of(session, listing_key)
        blocked = sending_blocked(session)
        open_ops = open_operation_counts(session, listing_key).get(listing_key, 0)
    status = _build_row(
        state,
        held=held,
        pending_ops=open_ops,
        now=now,
        blocked=blocked,
        completeness=_completeness(read_checks),
    )
    desired = desired_listing(row)
    wanted = {img.url for img in desired.images} if desired else set()
    history = [
        HistoryEntry(at=e.at, source="event", kind=e.kind, text=e.message) for e in events
    ] + [
        HistoryEntry(
            at=op.updated_at,
            source="operation",
            kind=op.kind,
            text=_operation_text(op.kind, op.payload_json, op.error),
            status=op.status,
            http_status=op.http_status,
            request_id=op.request_id,
            attempts=op.attempts,
        )
        for op in ops
    ]
    history.sort(key=lambda h: h.at, reverse=True)
    last_failed_op = next((op for op in ops if op.error), None)
    remedy = (
        remedy_for(last_failed_op.http_status if last_failed_op else None, status.stage)
        if row.last_error or last_failed_op
        else None
    )
    if is_skipped_error(row.last_error):
        remedy = SKIPPED_ACTION
    return ListingDetail(
        row=status,
        desired=_without_secrets(to_plain(desired)) if desired else None,
        known=_known_facts(row, in_conflict=status.stage is Stage.CONFLICT),
        images=tuple(
            ImageLine(
                url=img.url,
                position=img.position,
                state=img.state,
                hemnet_image_id=img.hemnet_image_id,
                state_message=img.state_message,
                wanted=img.url in wanted,
            )
            for img in images
        ),
        history=tuple(history[:history_limit]),
        remedy=remedy,
        missing_since=row.missing_since,
        open_ops=open_ops,
        held=held,
        sending_remedy=blocked.remedy if status.not_sent and blocked else None,
    )


def detail_record(detail: ListingDetail) -> dict[str, Any]:
    """A listing's detail as JSON-ready data ('syncd show KEY --json', /listing/KEY.json)."""
    return {
        "status": detail.row.file_record() | {"blockers": list(detail.row.blockers)},
        "desired": detail.desired,
        "known": asdict(detail.known),
        "images": [asdict(img) for img in detail.images],
        "history": [{**asdict(h), "at": h.at.isoformat()} for h in detail.history],
        "remedy": detail.remedy,
        "missing_since": detail.missing_since.isoformat() if detail.missing_since else None,
        "open_ops": detail.open_ops,
        "held": detail.held,
        "not_sent": detail.row.not_sent,
        "sending_remedy": detail.sending_remedy,
    }
