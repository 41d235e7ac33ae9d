"""Operations: what syncd may ask of Hemnet, as plain frozen data.

``plan`` produces them, ``apply`` executes them, ``syncd plan`` prints them; none of those
share code paths. Operations name listings by ``listing_key`` and agencies by their key:
the Hemnet ids are looked up when an operation is executed, because a listing created
earlier in the same plan has no id yet.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from syncd.core.domain import (
    Agency,
    BillingInformation,
    Image,
    ImageRight,
    Listing,
    MarketState,
    Sale,
    SellerInformation,
    to_plain,
)


class Consequence(enum.StrEnum):
    """Effects an operator should see before they happen."""

    VISIBLE_PRICE_CHANGE = "visible_price_change"  # ≥ 5 %: shown in the public price history
    IRREVERSIBLE_SALE = "irreversible_sale"
    UNPUBLISH_VISIBLE = "unpublish_visible"  # buyers can see it now and won't after
    DELETES_SALE = "deletes_sale"  # republishing a sold listing deletes its reported sale


@dataclass(frozen=True)
class Op:
    """Base of every operation. ``kind`` is the name used in logs, tables and metrics."""

    kind: ClassVar[str] = "op"
    listing_key: str | None
    consequences: frozenset[Consequence] = field(default=frozenset(), kw_only=True)

    def payload(self) -> object:
        """What distinguishes this op from another of the same kind for the same listing."""
        return None

    @property
    def idempotency_key(self) -> str:
        """Same op, same key: lets apply recognise an intent it already recorded."""
        body = json.dumps(to_plain(self.payload()), sort_keys=True, ensure_ascii=False)
        digest = hashlib.sha256(body.encode()).hexdigest()[:16]
        return f"{self.kind}:{self.listing_key or '-'}:{digest}"

    def describe(self) -> str:
        return self.kind


@dataclass(frozen=True)
class EnsureAgency(Op):
    """Create the broker agency, or adopt the one Hemnet already has (same name or org no)."""

    kind: ClassVar[str] = "ensure_agency"
    agency: Agency = field(kw_only=True)

    def payload(self) -> object:
        return self.agency

    def describe(self) -> str:
        return f"ensure agency {self.agency.name!r}"


@dataclass(frozen=True)
class CreateListing(Op):
    kind: ClassVar[str] = "create_listing"
    listing: Listing = field(kw_only=True)

    def payload(self) -> object:
        return self.listing.listing_key

    def describe(self) -> str:
        return f"create listing at {self.listing.address.street}"


@dataclass(frozen=True)
class UpdateListing(Op):
    """Partial update: only ``changed`` fields are sent."""

    kind: ClassVar[str] = "update_listing"
    listing: Listing = field(kw_only=True)
    changed: tuple[str, ...] = field(kw_only=True)
    old_price: int | None = field(default=None, kw_only=True)

    def payload(self) -> object:
        return {name: getattr(self.listing, name) for name in self.changed}

    def describe(self) -> str:
        text = "update " + ", ".join(self.changed)
        if "asking_price" in self.changed:
            text += f" (price {self.old_price} → {self.listing.asking_price})"
        return text


@dataclass(frozen=True)
class AddImage(Op):
    kind: ClassVar[str] = "add_image"
    image: Image = field(kw_only=True)

    def payload(self) -> object:
        return self.image

    def describe(self) -> str:
        return f"add image {self.image.url}"


@dataclass(frozen=True)
class DeleteImage(Op):
    kind: ClassVar[str] = "delete_image"
    image_id: str = field(kw_only=True)
    url: str = field(kw_only=True)

    def payload(self) -> object:
        return self.image_id

    def describe(self) -> str:
        return f"delete image {self.url}"


@dataclass(frozen=True)
class UpdateImage(Op):
    """New position or caption of an image Hemnet already has (no re-processing)."""

    kind: ClassVar[str] = "update_image"
    image_id: str = field(kw_only=True)
    url: str = field(kw_only=True)
    order: int = field(kw_only=True)
    caption: str | None = field(kw_only=True)

    def payload(self) -> object:
        return [self.image_id, self.order, self.caption]

    def describe(self) -> str:
        return f"move image {self.url} to position {self.order + 1}"


@dataclass(frozen=True)
class SetMarketState(Op):
    kind: ClassVar[str] = "set_market_state"
    market_state: MarketState = field(kw_only=True)

    def payload(self) -> object:
        return self.market_state

    def describe(self) -> str:
        return f"set market state {self.market_state.value}"


@dataclass(frozen=True)
class SendSellerInformation(Op):
    """Write-only on Hemnet; the hash of what was sent is remembered instead."""

    kind: ClassVar[str] = "send_seller_information"
    seller: SellerInformation = field(kw_only=True)

    def payload(self) -> object:
        return self.seller

    def describe(self) -> str:
        return "send seller information"


@dataclass(frozen=True)
class SendBillingInformation(Op):
    kind: ClassVar[str] = "send_billing_information"
    billing: BillingInformation = field(kw_only=True)

    def payload(self) -> object:
        return self.billing

    def describe(self) -> str:
        return "send billing information"


@dataclass(frozen=True)
class SetImageRight(Op):
    """PUT the listing's image right (create or update); what was sent is remembered."""

    kind: ClassVar[str] = "set_image_right"
    image_right: ImageRight = field(kw_only=True)

    def payload(self) -> object:
        return self.image_right

    def describe(self) -> str:
        right = self.image_right
        said = [
            f"{name} {value}"
            for name, value in (
                ("terms", right.terms),
                ("photo agency", right.photo_agency),
                ("named", right.photo_agency_name),
                ("photographer", right.photographer),
            )
            if value is not None
        ]
        return "set image right: " + ", ".join(said)


@dataclass(frozen=True)
class DeleteImageRight(Op):
    """The CRM no longer gives an image right (or drops a field of it, cleared only so)."""

    kind: ClassVar[str] = "delete_image_right"
    reason: str = field(kw_only=True)

    def describe(self) -> str:
        return f"delete image right ({self.reason})"


@dataclass(frozen=True)
class PublishListing(Op):
    kind: ClassVar[str] = "publish"
    # Ask Hemnet to approve at once (allowedAutoApprove): only where Hemnet attempts it.
    auto_approve: bool = field(default=False, kw_only=True)

    def payload(self) -> object:
        return {"auto_approve": True} if self.auto_approve else None

    def describe(self) -> str:
        return "publish and auto-approve" if self.auto_approve else "publish"


@dataclass(frozen=True)
class UnpublishListing(Op):
    kind: ClassVar[str] = "unpublish"
    reason: str = field(kw_only=True)

    def describe(self) -> str:
        return f"unpublish ({self.reason})"


@dataclass(frozen=True)
class MarkSold(Op):
    kind: ClassVar[str] = "mark_sold"
    sale: Sale = field(kw_only=True)

    def payload(self) -> object:
        return self.sale

    def describe(self) -> str:
        shown = "public" if self.sale.price_is_public else "private"
        return f"mark sold for {self.sale.price} SEK ({shown} price) on {self.sale.sold_on}"


Operation = (
    EnsureAgency
    | CreateListing
    | UpdateListing
    | AddImage
    | DeleteImage
    | UpdateImage
    | SetMarketState
    | SendSellerInformation
    | SendBillingInformation
    | SetImageRight
    | DeleteImageRight
    | PublishListing
    | UnpublishListing
    | MarkSold
)

OP_KINDS: dict[str, type[Op]] = {
    cls.kind: cls
    for cls in (
        EnsureAgency,
        CreateListing,
        UpdateListing,
        AddImage,
        DeleteImage,
        UpdateImage,
        SetMarketState,
        SendSellerInformation,
        SendBillingInformation,
        SetImageRight,
        DeleteImageRight,
        PublishListing,
        UnpublishListing,
        MarkSold,
    )
}


@dataclass(frozen=True)
class Hold:
    """A removal or a blanking update the guards stopped: applied only after an operator
    releases it. What a release covers is the held episode: each listing's absence
    (``missing_since``) for a removal, the held update (``updates``) for a blanking."""

    agency_key: str
    reason: str
    listing_keys: tuple[str, ...]  # the listings that would be unpublished, or updated
    # each listing's missing_since, in the same order: the absence a release would cover
    missing_since: tuple[datetime, ...] = ()
    # each listing's held update (the desired content hash), in the same order
    updates: tuple[str, ...] = ()

    def episodes(self) -> tuple[str, ...]:
        """What a release of this hold covers, per listing, as stored with the hold."""
        if self.updates:
            return tuple(UPDATE_EPISODE + digest for digest in self.updates)
        return tuple(at.isoformat() for at in self.missing_since)


# A held update's episode, as stored: the prefix tells it from an absence's timestamp.
UPDATE_EPISODE = "update:"


@dataclass(frozen=True)
class Waiting:
    """A listing with nothing to send now, and what it is waiting for (shown in plans)."""

    listing_key: str
    reason: str
    # When waiting ends by itself (a removal's grace period): the next pass is due then.
    due_at: datetime | None = None


@dataclass(frozen=True)
class Plan:
    """The ops from one comparison, in the order they must run (per listing)."""

    ops: tuple[Operation, ...] = ()
    holds: tuple[Hold, ...] = ()
    waiting: tuple[Waiting, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.ops

    def lines(self, only: frozenset[str] | None = None) -> list[str]:
        """The plan as 'syncd plan' prints it; ``only`` these listings' ops, holds and waits."""
        lines: list[str] = []
        for op in self.ops:
            if only is None or op.listing_key in only:
                flags = "".join(f" [{c.value}]" for c in sorted(op.consequences))
                lines.append(f"{op.listing_key or '-':<16} {op.kind:<26} {op.describe()}{flags}")
        for hold in self.holds:
            if only is None or only & set(hold.listing_keys):
                lines.append(
                    f"HELD agency {hold.agency_key}: {hold.reason} ({len(hold.listing_keys)})"
                )
        for waiting in self.waiting:
            if only is None or waiting.listing_key in only:
                lines.append(f"{waiting.listing_key:<16} waiting: {waiting.reason}")
        return lines

    @property
    def next_due_at(self) -> datetime | None:
        """The earliest moment a waiting listing needs a pass without anything else changing."""
        return min((w.due_at for w in self.waiting if w.due_at is not None), default=None)
