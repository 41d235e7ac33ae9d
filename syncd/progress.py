"""Where a listing stands in Hemnet's lifecycle, what blocks it and when to look again.

Pure: no I/O, no clock (``now`` is an argument), no environment. It reads desired and
known state and never decides what to send; that is ``plan``'s job.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from syncd.domain import (
    HousingForm,
    ImageState,
    KnownListing,
    Listing,
    ListingStatus,
    Tenure,
)


class Stage(enum.StrEnum):
    """One word per lifecycle step; these words show in the operator's status views."""

    NEW = "new"  # desired, nothing planned or sent yet
    CREATING = "creating"  # a create is planned or in flight
    IMAGES_PROCESSING = "images_processing"
    IMAGE_FAILED = "image_failed"
    WAITING_FOR_DATA = "waiting_for_data"  # publish blockers in the CRM data
    READY_TO_PUBLISH = "ready_to_publish"
    AWAITING_APPROVAL = "awaiting_approval"  # published, the broker has not approved yet
    VISIBLE = "visible"
    UNPUBLISHED = "unpublished"
    WITHDRAWN = "withdrawn"
    SOLD = "sold"
    MISSING = "missing"  # absent from a full export, still within the grace
    FAILED = "failed"  # rejected by Hemnet


_ACTIVE = (ListingStatus.FOR_SALE, ListingStatus.UPCOMING)
_NEEDS_APARTMENT_NUMBER = (Tenure.CONDOMINIUM, Tenure.OWNERSHIP_APARTMENT)


def publish_blockers(listing: Listing) -> list[str]:
    """What the CRM data lacks before Hemnet accepts publishing it (empty: nothing)."""
    out: list[str] = []
    if not listing.address.street:
        out.append("street address is missing")
    if (
        listing.housing_form is HousingForm.APARTMENT
        and listing.tenure in _NEEDS_APARTMENT_NUMBER
        and not listing.address.apartment_number
    ):
        out.append("apartment number (lägenhetsnummer) is missing")
    if listing.status is ListingStatus.FOR_SALE and listing.asking_price is None:
        out.append("asking price is missing (required for for_sale)")
    if not listing.images:
        # Hemnet refuses to publish without a completed image; none can come from nowhere.
        out.append("no images in the export")
    return out


def stage_of(
    desired: Listing | None,
    known: KnownListing | None,
    *,
    failed: bool,
    pending_ops: int,
) -> Stage:
    """The one stage an operator sees for a listing.

    ``failed``: Hemnet rejected its current content; ``pending_ops``: ops planned or in
    flight for it (distinguishes new from creating). A hold is not a stage: it is shown
    beside the stage, so that a held listing still says it is visible, sold or waiting.
    """
    if failed:
        return Stage.FAILED
    if known is None:
        if desired is None:
            return Stage.NEW
        if desired.status is ListingStatus.SOLD:
            return Stage.SOLD
        if desired.status is ListingStatus.WITHDRAWN:
            return Stage.WITHDRAWN
        return Stage.CREATING if pending_ops else Stage.NEW
    if known.sold is not None:
        return Stage.SOLD
    if desired is None:
        # Still published while absent from full exports means the grace is running.
        return Stage.MISSING if known.is_published else Stage.UNPUBLISHED
    if known.is_published:
        return Stage.VISIBLE if known.is_approved else Stage.AWAITING_APPROVAL
    if desired.status is ListingStatus.WITHDRAWN:
        return Stage.WITHDRAWN
    if desired.status is ListingStatus.SOLD:
        # Off Hemnet and the sale not reported yet: the MarkSold is still to run.
        return Stage.UNPUBLISHED
    states = {img.state for img in known.images}
    if ImageState.IN_PROGRESS in states:
        return Stage.IMAGES_PROCESSING
    if ImageState.FAILED in states:
        return Stage.IMAGE_FAILED
    if publish_blockers(desired):
        return Stage.WAITING_FOR_DATA
    if ImageState.COMPLETED not in states:
        # Images are in the export but none has reached Hemnet yet (adds pending).
        return Stage.IMAGES_PROCESSING
    return Stage.READY_TO_PUBLISH


def next_poll_at(
    known: KnownListing | None, now: datetime, fast_s: float, slow_s: float
) -> datetime | None:
    """When to read the listing back next: fast while Hemnet is busy with it, slow when idle.

    ``None`` when there is nothing on Hemnet to follow (never created, or sold).
    """
    if known is None or known.sold is not None:
        return None
    processing = any(img.state is ImageState.IN_PROGRESS for img in known.images)
    awaiting = known.is_published and not known.is_approved
    return now + timedelta(seconds=fast_s if processing or awaiting else slow_s)


def awaiting_approval_for(published_at: datetime, now: datetime) -> timedelta:
    """How long a published listing has waited for the broker's approval (never negative)."""
    return max(now - published_at, timedelta(0))


_NEXT_ACTION: dict[Stage, str] = {
    Stage.NEW: "nothing to do: syncd creates it on Hemnet on the next run",
    Stage.CREATING: "nothing to do: the listing is being created on Hemnet",
    Stage.IMAGES_PROCESSING: "nothing to do: Hemnet is processing the images",
    Stage.IMAGE_FAILED: "fix the image in the CRM (see 'syncd show KEY' for Hemnet's message)",
    Stage.WAITING_FOR_DATA: "fix the CRM data: see the missing fields with 'syncd show KEY'",
    Stage.READY_TO_PUBLISH: "nothing to do: syncd publishes it on the next run",
    Stage.AWAITING_APPROVAL: "visit the approval URL to approve",
    Stage.VISIBLE: "nothing to do: buyers can see it on Hemnet",
    Stage.UNPUBLISHED: "nothing to do: it is off Hemnet; set it for sale in the CRM to return",
    Stage.WITHDRAWN: "nothing to do: withdrawn in the CRM and off Hemnet",
    Stage.SOLD: "nothing to do: the sale is reported to Hemnet",
    Stage.MISSING: "put it back in the CRM export, or let the grace run out to unpublish it",
    Stage.FAILED: "fix the CRM data Hemnet rejected, or run 'syncd retry KEY'",
}


def next_action(stage: Stage) -> str:
    """A one-line hint telling the operator what, if anything, to do."""
    return _NEXT_ACTION[stage]
