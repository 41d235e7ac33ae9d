"""What Hemnet answered, as small frozen values the rest of syncd reads.

Plain data in domain terms: no wire names, no httpx, no parsing (that is ``payload``).
A key's token is kept out of every repr so it cannot reach a log by accident.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from syncd.core.domain import ImageState, MarketState, Sale


@dataclass(frozen=True, slots=True)
class RemoteKey:
    """An API key; ``token`` is only present in the answer that created it."""

    key_id: str
    name: str | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class RemoteAgency:
    hemnet_id: str
    name: str
    organisation_number: str | None = None
    external_id: str | None = None
    hq_partnership_agreement: bool = False


@dataclass(frozen=True, slots=True)
class RemoteSale:
    sale_id: str
    listing_id: str | None
    price: int
    is_price_public: bool
    contract_date: date | None
    created_at: datetime | None = None

    def to_domain(self) -> Sale | None:
        """The domain ``Sale`` (None when Hemnet gave no contract date to compare)."""
        if self.contract_date is None:
            return None
        return Sale(self.price, self.is_price_public, self.contract_date)


@dataclass(frozen=True, slots=True)
class RemoteListing:
    """The known state of one listing as Hemnet reported it."""

    hemnet_id: str
    external_id: str | None
    agency_id: str | None = None
    is_published: bool = False
    is_approved: bool = False
    is_visible: bool = False
    market_state: MarketState | None = None
    allowed_market_states: frozenset[MarketState] = frozenset()
    approval_url: str | None = None
    url: str | None = None  # the public page on Hemnet
    sale: RemoteSale | None = None
    # The listing object as Hemnet sent it, for ``payload.listing_fields_from`` (drift).
    raw: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )


class RemoteListings(list[RemoteListing]):
    """Listings from an enumeration, and the ids of those left out as unreadable: such a
    listing exists on Hemnet, so it must be neither taken for gone nor created again."""

    def __init__(
        self, found: Iterable[RemoteListing] = (), left_out: frozenset[str] = frozenset()
    ) -> None:
        super().__init__(found)
        self.left_out = left_out


@dataclass(frozen=True, slots=True)
class RemoteImage:
    image_id: str
    url: str
    state: ImageState
    state_message: str | None = None  # only on a single fetched image (DOC)
    position: int | None = None
    caption: str | None = None
    is_floor_plan: bool = False


@dataclass(frozen=True, slots=True)
class Checks:
    """Hemnet's checks of a listing: errors block publishing, warnings only advise."""

    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImageRight:
    """Who took the photos and how long Hemnet may show them (wire enum values as-is)."""

    terms: str | None = None
    photo_agency: str | None = None
    photo_agency_name: str | None = None
    photographer: str | None = None
