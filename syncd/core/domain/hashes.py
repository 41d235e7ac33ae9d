"""The hashes of a listing's parts, compared against what Hemnet confirmed.

They must stay stable across runs, processes and Python versions, because stored hashes
decide whether anything is sent; no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from syncd.core.domain.listing import (
    LISTING_FIELDS,
    BillingInformation,
    Image,
    ImageRight,
    Listing,
    Sale,
    SellerInformation,
    listing_fields,
)
from syncd.core.domain.plain import _plain, plain_json


def _digest(value: Any) -> str:
    return _digest_plain(_plain(value))


def _digest_plain(plain: Any) -> str:
    # The text every stored hash was made from: json.dumps(plain, sort_keys=True,
    # ensure_ascii=False, separators=(",", ":")) in UTF-8 (plain_json writes the same bytes).
    return hashlib.sha256(plain_json(plain, sort_keys=True)).hexdigest()


def content_hash(listing: Listing) -> str:
    """Hash of the listing body, without images, sale, seller or billing information."""
    return _digest(listing_fields(listing))


def images_hash(images: Iterable[Image]) -> str:
    return _digest(list(images))


def sale_hash(sale: Sale | None) -> str | None:
    return None if sale is None else _digest(sale)


def seller_hash(seller: SellerInformation | None) -> str | None:
    return None if seller is None else _digest(seller)


def billing_hash(billing: BillingInformation | None) -> str | None:
    return None if billing is None else _digest(billing)


def image_right_hash(right: ImageRight | None) -> str | None:
    return None if right is None else _digest(right)


@dataclass(frozen=True, slots=True)
class Hashes:
    """The separate hashes of one listing; compared against what Hemnet confirmed."""

    content: str
    images: str
    sale: str | None
    seller: str | None
    billing: str | None
    image_right: str | None = None

    @classmethod
    def of(cls, listing: Listing) -> Hashes:
        return cls(
            content=content_hash(listing),
            images=images_hash(listing.images),
            sale=sale_hash(listing.sale),
            seller=seller_hash(listing.seller),
            billing=billing_hash(listing.billing),
            image_right=image_right_hash(listing.image_right),
        )

    @classmethod
    def of_plain(cls, plain: Mapping[str, Any]) -> Hashes:
        """``Hashes.of`` from ``to_plain(listing)``: the same hashes without walking the
        listing a second time (ingest needs the plain form anyway, to store it)."""
        return cls(*hashes_of_plain(plain))


HashTuple = tuple[str, str, str | None, str | None, str | None, str | None]


def hashes_of_plain(plain: Mapping[str, Any]) -> HashTuple:
    """``Hashes.of_plain``'s hashes as a tuple in the fields' order: what ingest stores, without
    an object made only to be taken apart again."""
    sale, seller = plain.get("sale"), plain.get("seller")
    billing, right = plain.get("billing"), plain.get("image_right")
    return (
        _digest_plain({name: plain[name] for name in LISTING_FIELDS}),
        _digest_plain(plain["images"]),
        None if sale is None else _digest_plain(sale),
        None if seller is None else _digest_plain(seller),
        None if billing is None else _digest_plain(billing),
        None if right is None else _digest_plain(right),
    )
