"""Where a listing stands in Hemnet's lifecycle, what blocks it and when to look again.

Pure: no I/O, no clock (``now`` is an argument), no environment. It reads desired and
known state and never decides what to send; that is ``plan``'s job.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from syncd.core.domain import (
    ACTIVE_STATUSES,
    HousingForm,
    ImageState,
    KnownListing,
    Listing,
    ListingStatus,
    Sale,
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
    CONFLICT = "conflict"  # Hemnet and the CRM disagree in a way syncd must not settle


_ACTIVE = ACTIVE_STATUSES
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


def conflicts(desired: Listing | None, known: KnownListing | None) -> list[str]:
    """Where Hemnet and the CRM disagree and no op can bring them together (empty: none).

    Each needs an operator: syncd neither guesses nor sends anything that cannot be taken
    back. The planner sends what it still can (``plan``); these say what it cannot.
    """
    if known is None:
        return []
    out: list[str] = []
    sold = known.sold
    back_on_sale = desired is not None and desired.status in _ACTIVE
    if sold is not None and known.is_published and not back_on_sale:
        # Hemnet unpublishes a listing when its sale is reported; published again means
        # someone republished it, which deletes a sale younger than six months. Where the
        # CRM has put it back on sale, that is what it asked for (plan republishes).
        out.append(
            "the sale reported to Hemnet is gone: the listing was published again on Hemnet, "
            "which deletes the sale; report it again by hand, or unpublish it on Hemnet"
        )
    if sold is not None and desired is not None and not back_on_sale:
        if desired.status is not ListingStatus.SOLD:
            out.append(
                f"sold on Hemnet, but the CRM now says {desired.status.value}: a reported sale "
                "cannot be taken back through the API; correct the CRM or ask Hemnet"
            )
        elif desired.sale is not None and desired.sale != sold:
            out.append(
                f"the CRM's sale ({_sale(desired.sale)}) differs from the one reported to "
                f"Hemnet ({_sale(sold)}); Hemnet has no way to change a reported sale"
            )
    sent = known.sent
    if desired is not None and sent is not None and desired.agency_key != sent.agency_key:
        out.append(
            f"moved to agency {desired.agency_key} in the CRM, but Hemnet keeps it under "
            f"{sent.agency_key}: Hemnet does not let a listing change agency (ASSUMED, "
            "docs/hemnet-wire.md); ask Hemnet to move it"
        )
    return out


def _sale(sale: Sale) -> str:
    shown = "public" if sale.price_is_public else "private"
    return f"{sale.price} SEK, {shown}, {sale.sold_on.isoformat()}"


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
    if conflicts(desired, known):
        return Stage.CONFLICT
    if known is None:
        if desired is None:
            # Left the CRM before it reached Hemnet: nothing will create it.
            return Stage.UNPUBLISHED
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


# ASSUMED: brokers who approve promptly do so within minutes of publishing; a listing that
# has waited longer is followed at the slow interval (the wait may last days).
FAST_APPROVAL_WINDOW = timedelta(minutes=10)


def next_poll_time(
    *,
    images_in_progress: bool,
    awaiting_approval: bool,
    published_at: datetime | None,
    sold: bool,
    now: datetime,
    fast_s: float,
    slow_s: float,
) -> datetime | None:
    """When to read a listing back next; None when Hemnet has nothing left to report.

    Fast while images process or just after publishing, slow while a broker takes their
    time to approve; a visible, sold or idle listing is left to the periodic reconcile.
    """
    if sold:
        return None
    if images_in_progress:
        return now + timedelta(seconds=fast_s)
    if awaiting_approval:
        recent = published_at is None or now - published_at <= FAST_APPROVAL_WINDOW
        return now + timedelta(seconds=fast_s if recent else slow_s)
    return None


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
    Stage.CONFLICT: "resolve by hand: Hemnet and the CRM disagree (see 'syncd show KEY')",
}


def next_action(stage: Stage) -> str:
    """A one-line hint telling the operator what, if anything, to do."""
    return _NEXT_ACTION[stage]
