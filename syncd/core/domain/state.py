"""What the planner compares: what Hemnet is known to have, and what the CRM wants.

Value types and Hemnet's documented rules about them only; no I/O, no clock.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from syncd.core.domain.listing import Agency, ImageRight, Listing, Sale

# --- what Hemnet is known to have ---------------------------------------------------------


class ImageState(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


class MarketState(enum.StrEnum):
    FOR_SALE = "FOR_SALE"
    UPCOMING = "UPCOMING"
    TEASED = "TEASED"


# Hemnet attempts auto-approval at publish only in these market states (DOC, changelog 044:
# "only attempted for TEASED", the list may grow without notice): syncd asks for it only there.
AUTO_APPROVE_MARKET_STATES = frozenset({MarketState.TEASED})
# Publishing a sold listing within this time deletes the sale; later Hemnet refuses (DOC,
# changelog 010: six months, which Hemnet may shorten without notice). syncd counts from
# the contract date, on or before the day the sale was reported, so it refuses a little
# early rather than send a publish Hemnet would refuse.
REPUBLISH_WINDOW = timedelta(days=182)


@dataclass(frozen=True, slots=True)
class KnownImage:
    """One image as Hemnet has it."""

    url: str
    image_id: str
    state: ImageState
    order: int = 0
    caption: str | None = None
    revision: str | None = None
    state_message: str | None = None


@dataclass(frozen=True, slots=True)
class KnownListing:
    """What Hemnet is known to have for one listing_key (from outcomes, polls, reconcile).

    ``sent`` is the listing as last confirmed by Hemnet (applied): comparing it with the
    desired listing gives the changed fields without asking Hemnet again.
    """

    listing_key: str
    hemnet_id: str
    sent: Listing | None = None
    images: tuple[KnownImage, ...] = ()
    is_published: bool = False
    is_approved: bool = False
    market_state: MarketState | None = None
    allowed_market_states: frozenset[MarketState] = frozenset()
    sold: Sale | None = None
    seller_hash: str | None = None  # hash of the seller information last sent
    billing_hash: str | None = None
    image_right: ImageRight | None = None  # the image right last sent (None: none sent)
    approval_url: str | None = None
    # content hash of the desired listing an op was rejected for: nothing more is sent for
    # this listing until the CRM changes it (or an operator runs 'syncd retry KEY')
    rejected_hash: str | None = None

    @property
    def is_visible(self) -> bool:
        return self.is_published and self.is_approved


@dataclass(frozen=True, slots=True)
class KnownAgency:
    key: str
    hemnet_id: str


# --- what the CRM wants -------------------------------------------------------------------


@dataclass(frozen=True)
class Desired:
    """Everything the CRM wants right now, with what the planner needs to guard removals."""

    listings: Mapping[str, Listing]
    agencies: Mapping[str, Agency]
    # listing_key -> when the listing was first missing from a full export of its agency
    missing_since: Mapping[str, datetime] = field(default_factory=dict)
    # listing_key -> the missing_since of the absence whose held removal an operator
    # released ('syncd hold release'): the release covers that absence only, so it ends
    # when the listing comes back and a later absence is judged by the guards again
    released_removals: Mapping[str, datetime] = field(default_factory=dict)
    # listing_key -> the content hash of a blanking update an operator released
    released_updates: Mapping[str, str] = field(default_factory=dict)
