"""Recording what Hemnet reported of a listing: its publication state and images, the
events of each transition, and when to read it back next.

The one place where poll, reconcile, adoption and the answers to apply's writes turn
Hemnet's word into known state; use cases get dataclasses (``Followed``, ``TrackedImage``,
``StateChange``), not rows. It takes Hemnet's listing and images by their shape
(``ReportedListing``, ``ReportedImage``) so the store does not import the client, and it
observes no metric: it returns what changed and the caller observes. Runs inside the
caller's transaction; never calls Hemnet and never decides what to send.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select

from syncd.core.domain import ImageState, KnownImage, MarketState, Sale
from syncd.core.stages import next_poll_time, stage_of
from syncd.store import events, listings, outbox
from syncd.store.engine import Session
from syncd.store.fence import scope_of
from syncd.store.tables import ListingRow

log = logging.getLogger(__name__)


class ReportedSale(Protocol):
    """A sale as Hemnet reports it (``hemnet.models.RemoteSale``)."""

    @property
    def price(self) -> int: ...

    def to_domain(self) -> Sale | None: ...


class ReportedListing(Protocol):
    """A listing's publication as Hemnet reports it (``hemnet.models.RemoteListing``)."""

    @property
    def is_published(self) -> bool: ...

    @property
    def is_approved(self) -> bool: ...

    @property
    def market_state(self) -> MarketState | None: ...

    @property
    def allowed_market_states(self) -> Set[MarketState]: ...

    @property
    def approval_url(self) -> str | None: ...

    @property
    def url(self) -> str | None: ...

    @property
    def sale(self) -> ReportedSale | None: ...


class ReportedImage(Protocol):
    """An image as Hemnet reports it (``hemnet.models.RemoteImage``)."""

    @property
    def image_id(self) -> str: ...

    @property
    def state(self) -> ImageState: ...

    @property
    def state_message(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class TrackedImage:
    """An image syncd follows on Hemnet (it has Hemnet's id), as last recorded."""

    url: str
    hemnet_image_id: str
    state: str | None
    state_message: str | None
    position: int
    caption: str | None
    revision: str | None
    is_floor_plan: bool


@dataclass(frozen=True, slots=True)
class Followed:
    """What is known of a listing before reading it back from Hemnet."""

    listing_key: str
    hemnet_id: str | None  # None: never created, nothing to read
    next_poll_at: datetime | None
    is_published: bool
    is_approved: bool
    applied_hash: str | None  # the content Hemnet last confirmed
    tracked: tuple[TrackedImage, ...]  # its images that have Hemnet's id


@dataclass(frozen=True, slots=True)
class Listed:
    """A stored listing as a use case checks it before recording what it read or did."""

    listing_key: str
    hemnet_id: str | None  # None: Hemnet gave it no id yet (or syncd forgot it)
    stage: str | None  # the stage last recorded
    content_hash: str | None  # of the desired state, for marking that content refused


@dataclass(frozen=True, slots=True)
class ImageRead:
    """One tracked image and what Hemnet now says of it (None: Hemnet no longer has it)."""

    known: TrackedImage
    remote: ReportedImage | None


@dataclass(frozen=True, slots=True)
class StateChange:
    """What recording Hemnet's report changed."""

    changed: bool  # any part of the known publication state
    # Seconds from first seeing the listing in an export to its being visible, when it
    # turned visible now (the caller observes ``metrics.DROP_TO_VISIBLE``).
    drop_to_visible_s: float | None = None


def store_remote_state(session: Session, key: str, remote: ReportedListing, now: datetime) -> None:
    """What Hemnet answered of a listing's publication, stored as known state (no events).

    The one translation of Hemnet's listing into the store, for reads (poll, reconcile)
    and for the answers to writes (apply).
    """
    listings.record_remote_state(
        session,
        key,
        now,
        is_published=remote.is_published,
        is_approved=remote.is_approved,
        market_state=remote.market_state,
        allowed_market_states=remote.allowed_market_states,
        approval_url=remote.approval_url,
        public_url=remote.url,
        sold=remote.sale.to_domain() if remote.sale is not None else None,
    )


def record_listing_state(
    session: Session, key: str, remote: ReportedListing, now: datetime
) -> StateChange:
    """Store what Hemnet reports of a listing's publication; events for each transition."""
    row = listings.get_listing(session, key)
    if row is None:
        return StateChange(changed=False)
    before = _facts(row)
    was_visible = row.is_published and row.is_approved
    store_remote_state(session, key, remote, now)
    after = _facts(row)
    if remote.is_published and not before[0]:
        if remote.is_approved:
            _event(session, key, "published", "published on Hemnet", now)
        else:
            _event(
                session,
                key,
                "published",
                f"published on Hemnet; awaiting the broker's approval at {remote.approval_url}",
                now,
                data={"approval_url": remote.approval_url},
            )
    if remote.is_approved and not before[1] and not remote.is_published:
        _event(session, key, "approved", "approved by the broker (not published yet)", now)
    visible_s = None
    if remote.is_published and remote.is_approved and not was_visible:
        visible_s = _became_visible(session, row, remote, now)
    if before[0] and not remote.is_published:
        _event(session, key, "unpublished", "no longer published on Hemnet", now)
    if remote.sale is not None and not before[5]:
        _event(session, key, "sold", f"sold on Hemnet for {remote.sale.price} SEK", now)
    return StateChange(changed=before != after, drop_to_visible_s=visible_s)


def _facts(row: ListingRow) -> tuple[object, ...]:
    return (
        row.is_published,
        row.is_approved,
        row.market_state,
        row.approval_url,
        row.public_url,
        row.sold_json is not None,
        sorted(row.allowed_market_states or ()),
    )


def _became_visible(
    session: Session, row: ListingRow, remote: ReportedListing, now: datetime
) -> float:
    visible_at = row.visible_at or now
    seconds = max((visible_at - row.first_seen_at).total_seconds(), 0.0)
    waited = ""
    if row.published_at is not None:
        waited = f" after {_duration(visible_at - row.published_at)} awaiting approval"
    message = f"visible on Hemnet{waited}"
    log.info("%s: %s (%s)", row.listing_key, message, remote.url)
    _event(
        session,
        row.listing_key,
        "visible",
        message,
        now,
        data={"url": remote.url, "drop_to_visible_s": round(seconds, 1)},
    )
    return seconds


def _event(
    session: Session,
    key: str,
    kind: str,
    message: str,
    now: datetime,
    *,
    data: dict[str, object] | None = None,
) -> None:
    events.record_event(session, kind, message, now, listing_key=key, data=data)


def _duration(delta: timedelta) -> str:
    seconds = int(max(delta.total_seconds(), 0))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


# --- what poll reads before it asks Hemnet -------------------------------------------------


def followed(session: Session, key: str) -> Followed | None:
    """The listing ``key`` as poll follows it; None when the store does not have it."""
    row = listings.get_listing(session, key)
    if row is None:
        return None
    tracked = tuple(
        TrackedImage(
            url=img.url,
            hemnet_image_id=img.hemnet_image_id,
            state=img.state,
            state_message=img.state_message,
            position=img.position,
            caption=img.caption,
            revision=img.revision,
            is_floor_plan=img.is_floor_plan,
        )
        for img in listings.known_images(session, key)
        if img.hemnet_image_id
    )
    return Followed(
        key,
        row.hemnet_id,
        row.next_poll_at,
        row.is_published,
        row.is_approved,
        row.applied_hash,
        tracked,
    )


def listed(session: Session, key: str) -> Listed | None:
    """Who the stored listing ``key`` is on Hemnet; None when the store does not have it."""
    return _listed(listings.get_listing(session, key))


def listed_by_hemnet_id(session: Session, hemnet_id: str) -> Listed | None:
    """The stored listing that follows Hemnet's listing ``hemnet_id``, if one does."""
    return _listed(listings.get_listing_by_hemnet_id(session, hemnet_id))


def _listed(row: ListingRow | None) -> Listed | None:
    if row is None:
        return None
    return Listed(row.listing_key, row.hemnet_id, row.stage, row.content_hash)


def keys_to_poll(session: Session, now: datetime) -> list[str]:
    """Listings whose poll is due, then those Hemnet is busy with that no one scheduled."""
    due = listings.keys_due_for_poll(session, now)
    due += listings.keys_to_follow_unscheduled(session)
    scope = scope_of(session)
    if scope is not None:
        # A fleet's instance follows the listings of the agencies it holds (store/fence.py).
        held = set(
            session.scalars(
                select(ListingRow.listing_key).where(ListingRow.agency_key.in_(sorted(scope)))
            )
        )
        due = [key for key in due if key in held]
    return list(dict.fromkeys(due))


# --- recording what Hemnet reported of images ----------------------------------------------


def record_images(session: Session, key: str, reads: Sequence[ImageRead], now: datetime) -> bool:
    """Store what Hemnet now says of tracked images; events for a missing or failed image and
    when processing ends. True if anything changed."""
    if not reads:
        return False
    was_processing = any(r.known.state == ImageState.IN_PROGRESS.value for r in reads)
    changed = False
    for read in reads:
        known = read.known
        number = known.position + 1
        remote = read.remote
        if remote is None:
            listings.delete_known_image(session, key, known.url)
            message = f"image {number} of {key} is no longer on Hemnet; it will be added again"
            log.warning("%s", message)
            events.record_event(
                session,
                "image_missing",
                message,
                now,
                listing_key=key,
                data={"url": known.url},
            )
            changed = True
            continue
        if remote.image_id != known.hemnet_image_id:
            log.info("image %d of %s is image %s on Hemnet", number, key, remote.image_id)
            listings.save_known_image(
                session,
                key,
                KnownImage(
                    url=known.url,
                    image_id=remote.image_id,
                    state=remote.state,
                    order=known.position,
                    caption=known.caption,
                    revision=known.revision,
                    state_message=remote.state_message,
                ),
                now,
                is_floor_plan=known.is_floor_plan,
            )
            changed = True
        elif remote.state.value == known.state and remote.state_message == known.state_message:
            continue
        else:
            listings.set_image_state(
                session,
                key,
                known.url,
                now,
                state=remote.state,
                state_message=remote.state_message,
            )
            changed = True
        if remote.state is ImageState.FAILED and known.state != ImageState.FAILED.value:
            reason = remote.state_message or "no reason given"
            message = f"image {number} of {key} failed: {reason}"
            log.warning("%s", message)
            events.record_event(
                session,
                "image_failed",
                message,
                now,
                listing_key=key,
                data={"url": known.url, "state_message": remote.state_message},
            )
    states = [r.remote.state for r in reads if r.remote is not None]
    if was_processing and ImageState.IN_PROGRESS not in states:
        done = states.count(ImageState.COMPLETED)
        failed = states.count(ImageState.FAILED)
        message = f"images processed: {done} completed, {failed} failed"
        log.info("%s: %s", key, message)
        events.record_event(session, "images_processed", message, now, listing_key=key)
    return changed


# --- when to look again --------------------------------------------------------------------


def schedule(session: Session, key: str, now: datetime, *, fast_s: float, slow_s: float) -> None:
    """Set the listing's next poll and its stage from what is now known."""
    row = listings.get_listing(session, key)
    if row is None:
        return
    images = listings.known_images(session, key)
    next_at = next_poll_time(
        images_in_progress=any(img.state == ImageState.IN_PROGRESS.value for img in images),
        awaiting_approval=row.is_published and not row.is_approved,
        published_at=row.published_at,
        sold=row.sold_json is not None,
        now=now,
        fast_s=fast_s,
        slow_s=slow_s,
    )
    listings.set_next_poll_at(session, key, next_at, now)
    stage = stage_of(
        listings.desired_listing(row),
        listings.known_listing(row, images),
        failed=row.failed_hash is not None and row.failed_hash == row.content_hash,
        pending_ops=outbox.open_operation_counts(session, key).get(key, 0),
    )
    listings.record_stage(session, key, stage.value)


def longest_approval_wait_s(session: Session, now: datetime) -> float:
    """The longest current wait for a broker's approval in seconds (0 when none waits),
    for ``metrics.OLDEST_AWAITING_APPROVAL``."""
    since = listings.oldest_awaiting_approval_since(session)
    return 0.0 if since is None else max((now - since).total_seconds(), 0.0)
