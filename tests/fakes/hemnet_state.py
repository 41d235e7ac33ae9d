"""An in-memory Hemnet state: applies ``syncd.ops`` operations to ``KnownListing`` values.

It stands for Hemnet plus apply's bookkeeping (hashes of write-only data, revisions), so
planner tests can run the whole loop without HTTP or SQLite. It refuses what Hemnet
refuses (a second sale, updates to a sold listing, publishing without a completed image)
and, where Hemnet would silently make a duplicate (a second create for one listing_key,
a second image with one URL), it refuses too, so a test sees the plan asked for one.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

from syncd.domain import (
    ImageState,
    KnownAgency,
    KnownImage,
    KnownListing,
    MarketState,
    billing_hash,
    seller_hash,
)
from syncd.ops import (
    AddImage,
    CreateListing,
    DeleteImage,
    EnsureAgency,
    MarkSold,
    Operation,
    PublishListing,
    SendBillingInformation,
    SendSellerInformation,
    SetMarketState,
    UnpublishListing,
    UpdateImage,
    UpdateListing,
)

# What the fake lets ``update_market_state`` reach on a listing that is not sold; TEASED
# too while the listing was never visible and is not new construction (every agency of the
# fake has the HQ partnership agreement).
ALLOWED_MARKET_STATES = frozenset({MarketState.FOR_SALE, MarketState.UPCOMING})
WITH_TEASED = ALLOWED_MARKET_STATES | {MarketState.TEASED}


class Refused(Exception):
    """Hemnet (or the fake, where Hemnet would duplicate) said no; nothing changed."""

    def __init__(self, op: Operation, reason: str) -> None:
        super().__init__(f"{op.kind} {op.listing_key}: {reason}")
        self.op = op
        self.reason = reason


@dataclass
class FakeHemnet:
    """Known state keyed like syncd's store: listings by listing_key, agencies by key."""

    listings: dict[str, KnownListing] = field(default_factory=dict)
    agencies: dict[str, KnownAgency] = field(default_factory=dict)
    # URLs whose next processing fails (then they are removed: a retry succeeds)
    fail_once: set[str] = field(default_factory=set)
    refusals: list[Refused] = field(default_factory=list)
    applied: list[Operation] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    # --- the API --------------------------------------------------------------------------

    def apply(self, op: Operation) -> None:
        """Change the state as Hemnet would; raise ``Refused`` (and record it) if it would not."""
        try:
            self._apply(op)
        except Refused as refusal:
            self.refusals.append(refusal)
            raise
        self.applied.append(op)

    def apply_all(self, ops: Iterable[Operation]) -> list[Refused]:
        """Apply each op, carrying on after a refusal like apply does; the refusals."""
        refused: list[Refused] = []
        for op in ops:
            try:
                self.apply(op)
            except Refused as refusal:
                refused.append(refusal)
        return refused

    def process_images(self) -> None:
        """Hemnet's image pipeline: every in-progress image completes (or fails once)."""
        for key, known in self.listings.items():
            images = []
            for img in known.images:
                if img.state is ImageState.IN_PROGRESS:
                    if img.url in self.fail_once:
                        self.fail_once.discard(img.url)
                        img = dataclasses.replace(
                            img, state=ImageState.FAILED, state_message="could not fetch"
                        )
                    else:
                        img = dataclasses.replace(img, state=ImageState.COMPLETED)
                images.append(img)
            self.listings[key] = dataclasses.replace(known, images=tuple(images))

    def approve_all(self) -> None:
        """The broker approves every listing in the customer portal."""
        for key, known in self.listings.items():
            approved = dataclasses.replace(known, is_approved=True)
            if approved.is_visible and approved.market_state is not MarketState.TEASED:
                # Visible as UPCOMING or FOR_SALE: TEASED is gone for good.
                allowed = approved.allowed_market_states - {MarketState.TEASED}
                approved = dataclasses.replace(approved, allowed_market_states=allowed)
            self.listings[key] = approved

    # --- one op ---------------------------------------------------------------------------

    def _next_id(self) -> str:
        return str(next(self._ids))

    def _listing(self, op: Operation) -> KnownListing:
        if op.listing_key is None or op.listing_key not in self.listings:
            raise Refused(op, "NotFoundError: no such listing")
        known = self.listings[op.listing_key]
        if known.sold is not None and not isinstance(op, UnpublishListing | PublishListing):
            raise Refused(op, "ConflictError: the listing is sold")
        return known

    def _apply(self, op: Operation) -> None:
        if isinstance(op, EnsureAgency):
            # Adopts an agency Hemnet already has: repeating it changes nothing.
            if op.agency.key not in self.agencies:
                self.agencies[op.agency.key] = KnownAgency(op.agency.key, self._next_id())
            return
        if isinstance(op, CreateListing):
            self._create(op)
            return
        known = self._listing(op)
        key = known.listing_key
        self.listings[key] = self._change(op, known)

    def _create(self, op: CreateListing) -> None:
        listing = op.listing
        if listing.listing_key in self.listings:
            raise Refused(op, "a listing with this externalId exists (Hemnet would duplicate)")
        if listing.agency_key not in self.agencies:
            raise Refused(op, "NotFoundError: no such broker agency")
        self.listings[listing.listing_key] = KnownListing(
            listing_key=listing.listing_key,
            hemnet_id=self._next_id(),
            sent=listing,
            market_state=MarketState.FOR_SALE,
            allowed_market_states=(
                ALLOWED_MARKET_STATES if listing.new_construction else WITH_TEASED
            ),
            approval_url=f"https://fake.invalid/approve/{listing.listing_key}",
        )

    def _change(self, op: Operation, known: KnownListing) -> KnownListing:
        replace = dataclasses.replace
        if isinstance(op, UpdateListing):
            base = known.sent if known.sent is not None else op.listing
            fields = {name: getattr(op.listing, name) for name in op.changed}
            return replace(known, sent=replace(base, **fields), rejected_hash=None)
        if isinstance(op, SetMarketState):
            if op.market_state not in known.allowed_market_states:
                raise Refused(op, "TransitionError: market state not allowed now")
            return replace(known, market_state=op.market_state)
        if isinstance(op, SendSellerInformation):
            return replace(known, seller_hash=seller_hash(op.seller))
        if isinstance(op, SendBillingInformation):
            return replace(known, billing_hash=billing_hash(op.billing))
        if isinstance(op, AddImage):
            if any(img.url == op.image.url for img in known.images):
                raise Refused(op, "an image with this URL exists (Hemnet would duplicate)")
            added = KnownImage(
                url=op.image.url,
                image_id=self._next_id(),
                state=ImageState.IN_PROGRESS,
                order=op.image.order,
                caption=op.image.caption,
                revision=op.image.revision,
            )
            return replace(known, images=(*known.images, added))
        if isinstance(op, DeleteImage):
            if not any(img.image_id == op.image_id for img in known.images):
                raise Refused(op, "NotFoundError: no such image")
            kept = tuple(img for img in known.images if img.image_id != op.image_id)
            return replace(known, images=kept)
        if isinstance(op, UpdateImage):
            if not any(img.image_id == op.image_id for img in known.images):
                raise Refused(op, "NotFoundError: no such image")
            return replace(
                known,
                images=tuple(
                    replace(img, order=op.order, caption=op.caption)
                    if img.image_id == op.image_id
                    else img
                    for img in known.images
                ),
            )
        if isinstance(op, PublishListing):
            if not any(img.state is ImageState.COMPLETED for img in known.images):
                raise Refused(op, "ChecksError: at least one completed image is required")
            if known.sold is not None:
                # Republished within six months (the planner keeps to the window): the sale
                # is deleted and the listing is on sale again.
                return replace(
                    known, is_published=True, sold=None, allowed_market_states=ALLOWED_MARKET_STATES
                )
            return replace(known, is_published=True)
        if isinstance(op, UnpublishListing):
            return replace(known, is_published=False)
        if isinstance(op, MarkSold):
            # _listing already refused a second sale; Hemnet unpublishes a sold listing.
            return replace(
                known,
                sold=op.sale,
                is_published=False,
                allowed_market_states=frozenset(),
            )
        raise Refused(op, f"the fake does not know {op.kind}")
