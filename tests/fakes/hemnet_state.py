"""An in-memory Hemnet state: applies ``syncd.core.ops`` operations to ``KnownListing`` values.

It stands for Hemnet plus apply's bookkeeping (hashes of write-only data, revisions), so
planner tests can run the whole loop without HTTP or SQLite. It follows the sandbox's
rules, which ``tests/contract/`` checks by driving both through the same sequences: it
refuses what Hemnet refuses (a second sale, updates or market states of a sold listing,
publishing without passing the checks) and, like Hemnet, silently makes a duplicate of a
second create for one listing_key (kept in ``duplicates``: syncd goes on following the
first) or of a second image with one URL. Tests that must never see one assert
``duplicate_count() == 0``. Not modelled: time (republishing a sale older than six months
is refused by the sandbox, never asked of the fake) and agencies without Hemnet's HQ
partnership agreement (every agency of the fake has it).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

from syncd.core.domain import (
    HousingForm,
    ImageRight,
    ImageState,
    KnownAgency,
    KnownImage,
    KnownListing,
    MarketState,
    Tenure,
    billing_hash,
    seller_hash,
)
from syncd.core.ops import (
    AddImage,
    CreateListing,
    DeleteImage,
    DeleteImageRight,
    EnsureAgency,
    MarkSold,
    Operation,
    PublishListing,
    SendBillingInformation,
    SendSellerInformation,
    SetImageRight,
    SetMarketState,
    UnpublishListing,
    UpdateImage,
    UpdateListing,
)

# What ``update_market_state`` may reach on a listing that is not sold; TEASED too while
# the listing was never visible and is not new construction, or while it is TEASED.
ALLOWED_MARKET_STATES = frozenset({MarketState.FOR_SALE, MarketState.UPCOMING})
WITH_TEASED = ALLOWED_MARKET_STATES | {MarketState.TEASED}
# Hemnet's error types (the sandbox's wire names), as ``Refused.error_type``.
CHECKS_ERROR = "ChecksError"
CONFLICT_ERROR = "ConflictError"
NOT_FOUND_ERROR = "NotFoundError"
TRANSITION_ERROR = "TransitionError"
AUTO_APPROVE_ERROR = "AutoApproveError"
_APARTMENT_TENURES = (Tenure.CONDOMINIUM, Tenure.OWNERSHIP_APARTMENT)


class Refused(Exception):
    """Hemnet said no (``error_type`` is its error's type); nothing changed."""

    def __init__(self, op: Operation, error_type: str, reason: str) -> None:
        super().__init__(f"{op.kind} {op.listing_key}: {error_type}: {reason}")
        self.op = op
        self.error_type = error_type
        self.reason = f"{error_type}: {reason}"


@dataclass
class FakeHemnet:
    """Known state keyed like syncd's store: listings by listing_key, agencies by key."""

    listings: dict[str, KnownListing] = field(default_factory=dict)
    agencies: dict[str, KnownAgency] = field(default_factory=dict)
    # URLs whose next processing fails (then they are removed: a retry succeeds)
    fail_once: set[str] = field(default_factory=set)
    refusals: list[Refused] = field(default_factory=list)
    applied: list[Operation] = field(default_factory=list)
    # Listings Hemnet made for a second create of a listing_key: syncd never follows them.
    duplicates: dict[str, list[KnownListing]] = field(default_factory=dict)
    # Listings that were visible once: TEASED is gone for good (Hemnet's rule).
    ever_visible: set[str] = field(default_factory=set)
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
        """Apply each op, carrying on after a refusal; the refusals."""
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
        for key in self.listings:
            self.approve(key)

    def approve(self, key: str) -> None:
        approved = dataclasses.replace(self.listings[key], is_approved=True)
        self.listings[key] = self._settled(approved)

    def duplicate_count(self) -> int:
        """Listings and images Hemnet holds twice (the worst failure syncd can have)."""
        images = sum(
            len(known.images) - len({img.url for img in known.images})
            for known in self.listings.values()
        )
        return images + sum(len(extra) for extra in self.duplicates.values())

    # --- one op ---------------------------------------------------------------------------

    def _next_id(self) -> str:
        return str(next(self._ids))

    def _settled(self, known: KnownListing) -> KnownListing:
        """``known`` with what Hemnet derives after any change: visibility, allowed states."""
        if known.is_visible:
            self.ever_visible.add(known.listing_key)
        if known.sold is not None:
            allowed: frozenset[MarketState] = frozenset()
        elif known.market_state is MarketState.TEASED or (
            known.listing_key not in self.ever_visible
            and not (known.sent is not None and known.sent.new_construction)
        ):
            allowed = WITH_TEASED
        else:
            allowed = ALLOWED_MARKET_STATES
        return dataclasses.replace(known, allowed_market_states=allowed)

    def _listing(self, op: Operation) -> KnownListing:
        if op.listing_key is None or op.listing_key not in self.listings:
            raise Refused(op, NOT_FOUND_ERROR, "no such listing")
        return self.listings[op.listing_key]

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
        self.listings[known.listing_key] = self._settled(self._change(op, known))

    def _create(self, op: CreateListing) -> None:
        listing = op.listing
        if listing.agency_key not in self.agencies:
            raise Refused(op, NOT_FOUND_ERROR, "no such broker agency")
        created = self._settled(
            KnownListing(
                listing_key=listing.listing_key,
                hemnet_id=self._next_id(),
                sent=listing,
                market_state=MarketState.FOR_SALE,
                approval_url=f"https://fake.invalid/approve/{listing.listing_key}",
            )
        )
        if listing.listing_key in self.listings:
            # Hemnet has no uniqueness on externalId: a second listing, which the store
            # (keyed by listing_key) would never see again.
            self.duplicates.setdefault(listing.listing_key, []).append(created)
            return
        self.listings[listing.listing_key] = created

    def _change(self, op: Operation, known: KnownListing) -> KnownListing:
        replace = dataclasses.replace
        if isinstance(op, UpdateListing):
            if known.sold is not None:
                raise Refused(op, CONFLICT_ERROR, "a sold listing cannot be updated")
            base = known.sent if known.sent is not None else op.listing
            fields = {name: getattr(op.listing, name) for name in op.changed}
            changed = replace(known, sent=replace(base, **fields), rejected_hash=None)
            if changed.is_published:
                self._check(op, changed)  # a published listing must still pass them
            return changed
        if isinstance(op, SetMarketState):
            if known.sold is not None:
                raise Refused(op, TRANSITION_ERROR, "a sold listing has no market state to set")
            if op.market_state not in known.allowed_market_states:
                raise Refused(op, TRANSITION_ERROR, "market state not allowed now")
            return replace(known, market_state=op.market_state)
        if isinstance(op, SendSellerInformation):
            return replace(known, seller_hash=seller_hash(op.seller))
        if isinstance(op, SendBillingInformation):
            return replace(known, billing_hash=billing_hash(op.billing))
        if isinstance(op, SetImageRight):
            # Partial (DOC): what the PUT does not give keeps its value.
            old = known.image_right or ImageRight()
            given = {
                f.name: getattr(op.image_right, f.name)
                for f in dataclasses.fields(ImageRight)
                if getattr(op.image_right, f.name) is not None
            }
            return replace(known, image_right=replace(old, **given))
        if isinstance(op, DeleteImageRight):
            if known.image_right is None:
                raise Refused(op, NOT_FOUND_ERROR, "the listing has no image right")
            return replace(known, image_right=None)
        if isinstance(op, AddImage):
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
                raise Refused(op, NOT_FOUND_ERROR, "no such image")
            kept = tuple(img for img in known.images if img.image_id != op.image_id)
            return replace(known, images=kept)
        if isinstance(op, UpdateImage):
            if not any(img.image_id == op.image_id for img in known.images):
                raise Refused(op, NOT_FOUND_ERROR, "no such image")
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
            return self._publish(op, known)
        if isinstance(op, UnpublishListing):
            return replace(known, is_published=False)
        if isinstance(op, MarkSold):
            if known.sold is not None:
                raise Refused(op, CONFLICT_ERROR, "the listing is already marked as sold")
            # Hemnet unpublishes a sold listing.
            return replace(known, sold=op.sale, is_published=False)
        raise Refused(op, "Unknown", f"the fake does not know {op.kind}")

    def _publish(self, op: PublishListing, known: KnownListing) -> KnownListing:
        self._check(op, known)
        approve = (
            op.auto_approve and known.market_state is MarketState.TEASED and not known.is_approved
        )
        if approve and (known.seller_hash is None or known.billing_hash is None):
            # Atomic (DOC): nothing is published when approval cannot happen too.
            raise Refused(op, AUTO_APPROVE_ERROR, "seller or billing information is missing")
        # Republished within six months (the planner keeps to the window): the sale is
        # deleted and the listing is on sale again.
        return dataclasses.replace(
            known, is_published=True, sold=None, is_approved=known.is_approved or approve
        )

    @staticmethod
    def _check(op: Operation, known: KnownListing) -> None:
        """Hemnet's publish checks, as the sandbox applies them (``lifecycle.checks``)."""
        sent = known.sent
        failing: list[str] = []
        if not any(img.state is ImageState.COMPLETED for img in known.images):
            failing.append("at least one processed image is required")
        if sent is not None:
            if not sent.address.street:
                failing.append("street address must be specified")
            if (
                sent.housing_form is HousingForm.APARTMENT
                and sent.tenure in _APARTMENT_TENURES
                and not sent.address.apartment_number
            ):
                failing.append("apartment number must be specified for apartments")
            if known.market_state is MarketState.FOR_SALE and sent.asking_price is None:
                failing.append("asking price must be specified for listings for sale")
        if failing:
            raise Refused(op, CHECKS_ERROR, "; ".join(failing))
