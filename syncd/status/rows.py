"""Every listing's status row: its stage, images, approval, last error and next action.

Reads the store; its only writes are the computed stage (``listings.stage``) and the
status gauges. Never calls Hemnet and never decides what to send.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncd import metrics
from syncd.core.domain import ImageState, Listing
from syncd.core.stages import (
    Stage,
    awaiting_approval_for,
    conflicts,
    next_action,
    publish_blockers,
    stage_of,
)
from syncd.store.blocked import SendingBlocked, sending_blocked
from syncd.store.checks import StoredChecks, all_checks
from syncd.store.engine import Session, Store
from syncd.store.holds import held_listing_keys
from syncd.store.listing_states import ImageFacts, ListingState, read_listing_states
from syncd.store.listings import record_stages
from syncd.store.outbox import open_operation_counts
from syncd.store.skipped import is_skipped_error

# The name its log lines have always shown.
log = logging.getLogger("syncd.status")

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


def awaiting_s(stage: Stage, published_at: datetime | None, now: datetime) -> float | None:
    """How long a listing awaiting approval has waited at ``now`` (None: it is not)."""
    if stage is not Stage.AWAITING_APPROVAL or published_at is None:
        return None
    return awaiting_approval_for(published_at, now).total_seconds()


def build_row(
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
    waited = awaiting_s(stage, state.published_at, now)
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


@dataclass(frozen=True, slots=True)
class RowInputs:
    """Everything one listing's status row is built from (but the time): equal inputs give
    an equal row, so a row is rebuilt only when they changed (``status.book``)."""

    state: ListingState
    held: bool
    pending_ops: int
    completeness: tuple[str, ...]
    blocked: SendingBlocked | None

    def row(self, now: datetime) -> StatusRow:
        return build_row(
            self.state,
            held=self.held,
            pending_ops=self.pending_ops,
            now=now,
            completeness=self.completeness,
            blocked=self.blocked,
        )


def status_inputs(session: Session) -> list[RowInputs]:
    """Every listing's row inputs, by listing_key, from the caller's read."""
    states = read_listing_states(session)
    pending = open_operation_counts(session)
    held = held_listing_keys(session)
    read_checks = all_checks(session)
    blocked = sending_blocked(session)
    return [
        RowInputs(
            state,
            held=state.listing_key in held,
            pending_ops=pending.get(state.listing_key, 0),
            completeness=completeness_of(read_checks.get(state.listing_key)),
            blocked=blocked,
        )
        for state in states
    ]


def _status_rows(session: Session, now: datetime) -> list[tuple[ListingState, StatusRow]]:
    return [(inputs.state, inputs.row(now)) for inputs in status_inputs(session)]


def completeness_of(read: StoredChecks | None) -> tuple[str, ...]:
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
