"""One listing in detail: its status row, CRM facts, Hemnet facts, images and history.

Only reads the store; never calls Hemnet and never decides what to send.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from syncd.core.domain import to_plain
from syncd.core.stages import (
    Stage,
    next_action,
)
from syncd.hemnet.classify import classify
from syncd.status.rows import SKIPPED_ACTION, StatusRow, build_row, completeness_of
from syncd.store.blocked import sending_blocked
from syncd.store.checks import checks_of
from syncd.store.engine import Store
from syncd.store.events import events_of_listing
from syncd.store.holds import held_listing_keys
from syncd.store.listing_states import read_listing_states
from syncd.store.listings import desired_listing, get_listing, known_images
from syncd.store.outbox import open_operation_counts, operations_of_listing
from syncd.store.skipped import is_skipped_error
from syncd.store.tables import ListingRow


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


def remedy_for(http_status: int | None, stage: Stage) -> str:
    """What to do about a listing's last error, from Hemnet's status code if there was one.

    The error class is the one ``hemnet.classify`` gives that status code, so ``syncd show``
    names the same remedy as the log line of the failure (a table of its own here once said
    408 and 410 were rejections, where apply retries a 408 and treats a 410 as drift).
    """
    if http_status is None:
        return next_action(stage)
    error = classify("GET", "", http_status, {}, b"")
    return error.remedy if error is not None else next_action(stage)


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
    status = build_row(
        state,
        held=held,
        pending_ops=open_ops,
        now=now,
        blocked=blocked,
        completeness=completeness_of(read_checks),
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
