"""What a reconcile run keeps of each listing in Hemnet's list, for the hours it runs.

At 100,000 listings Hemnet's list decoded whole is over 400 MB (the bodies' strings above
all). A run needs of each listing only: its id and externalId (to follow it), when it was
created (to pick the oldest of several), its publication facts (small), and whether its
listing fields equal what syncd sent: a digest of them, not the fields. A listing whose
digest differs from that of what syncd sent (drift, or an unreadable body) is read again
whole (GET one) when its slice compares it, so drift is found and repaired from Hemnet's
own fields, as before. Data and pure functions only: no call, no store.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any

from syncd.core.domain import LISTING_FIELDS, MarketState
from syncd.core.packed import PackedRecords, TextIndex
from syncd.hemnet.models import RemoteListing, RemoteSale
from syncd.hemnet.payload import listing_fields_from
from syncd.usecases.adopt import created_order, created_stamp

_NO_BODY: Mapping[str, Any] = MappingProxyType({})

# How a listing of the list is found to be syncd's (``ListGlimpses.follow``), as bits.
_BY_ID = 1
_BY_KEY = 2


@dataclass(frozen=True, slots=True)
class Glimpse:
    """One listing of Hemnet's list as a run keeps it."""

    # The listing without its body (``raw`` empty): what compare reads besides the fields.
    state: RemoteListing
    # ``fields_digest`` of Hemnet's listing fields; None when its body cannot be read.
    fields: bytes | None
    created: str  # Hemnet's createdAt as text, for ``oldest``

    @property
    def hemnet_id(self) -> str:
        return self.state.hemnet_id

    @property
    def external_id(self) -> str | None:
        return self.state.external_id


def fields_digest(fields: Mapping[str, Any]) -> bytes:
    """A digest of listing fields (``domain.listing_fields``' names): equal digests only for
    equal fields. Equal fields may rarely digest apart (1 and True, say): such a listing is
    read again whole, never taken as unchanged."""
    text = repr(tuple(_canonical(fields[name]) for name in LISTING_FIELDS))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _canonical(value: Any) -> Any:
    """A value's form whose repr differs whenever the values differ: the type goes with
    each leaf, every dataclass field is included (repr=False ones too), and a Decimal is
    normalised (72.0 equals 72, as the comparison of drift has it)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__qualname__,
            tuple(_canonical(getattr(value, f.name)) for f in dataclasses.fields(value)),
        )
    if isinstance(value, Decimal):
        return ("Decimal", str(value.normalize()) if value.is_finite() else str(value))
    if isinstance(value, Enum):
        return (type(value).__qualname__, repr(value.value))
    if isinstance(value, tuple | list):
        return (type(value).__qualname__, tuple(_canonical(v) for v in value))
    return (type(value).__qualname__, repr(value))


class ListGlimpses:
    """Hemnet's list as a run keeps it, filled listing by listing as its pages are read (the
    client's ``glance_listings`` calls it on each): every listing's facts packed in
    compressed blocks and found by hashes in arrays (``packed``), a few dozen bytes a
    listing where a ``Glimpse`` of its own is 660; unpacked when a step asks for it. Keeps
    the list's order. A listing the list gives twice is kept as it was given last."""

    def __init__(self) -> None:
        self._records = PackedRecords()  # _pack'ed listings, in the list's order
        self._ids = TextIndex(self._hemnet_id_at)  # the first record of each hemnet_id
        self._latest: dict[int, int] = {}  # first record -> its last, for an id given twice
        self._repeats: set[int] = set()  # records of an id given before
        # Which records carry each externalId, until the run's begin knows what it follows.
        self._keys: TextIndex | None = TextIndex(self._external_id_at)
        self._several: set[str] = set()  # externalIds several listings carry
        self._kept: dict[str, list[str]] = {}  # after ``follow``: the keys a run looks up
        self._claimed = bytearray()  # after ``follow``: 1 where a record is syncd's

    def __call__(self, remote: RemoteListing) -> str:
        try:
            fields: bytes | None = fields_digest(listing_fields_from(remote.raw))
        except (KeyError, TypeError, ValueError):
            fields = None  # compare reads it whole, and says why it cannot be read
        hemnet_id = remote.hemnet_id
        record = self._records.append(_pack(remote, fields, created_stamp(remote)))
        earlier = self._ids.rows(hemnet_id)
        if earlier:
            self._latest[earlier[0]] = record
            self._repeats.add(record)
        else:
            self._ids.add(hemnet_id, record)
        key = remote.external_id
        if key is not None and self._keys is not None:
            carrying = self._keys.rows(key)
            if carrying and self._hemnet_id_at(carrying[0]) != hemnet_id:
                self._several.add(key)
            self._keys.add(key, record)
        return hemnet_id

    def __len__(self) -> int:
        return len(self._ids)

    def get(self, hemnet_id: str) -> Glimpse | None:
        rows = self._ids.rows(hemnet_id)
        return None if not rows else self._glimpse(rows[0])

    def __contains__(self, key: object) -> bool:
        """Whether a listing of the list carries the externalId ``key``."""
        if not isinstance(key, str):
            return False
        return bool(self._carrying_ids(key))

    def carrying(self, key: str) -> list[Glimpse]:
        """The listings carrying the externalId ``key``, in the list's order."""
        return [glimpse for i in self._carrying_ids(key) if (glimpse := self.get(i)) is not None]

    def several(self) -> list[str]:
        """The externalIds several listings carry, sorted."""
        return sorted(self._several)

    def keep_keys_to_follow(self, followed: Mapping[str, str | None]) -> None:
        """``follow`` with the listings syncd follows as a mapping (listing_key -> hemnet_id)."""
        self.follow(followed.items())

    def follow(self, followed: Iterable[tuple[str, str | None]]) -> dict[str, str | None]:
        """Take which listing syncd follows under each of its keys ((listing_key, hemnet_id
        or None) of every stored listing, read once), note which of the list's listings
        are syncd's (``unknown``), and forget which listing carries an externalId except
        where a run's steps look it up: a key syncd follows under no id or an id other
        than the one carrying it (adopt), or one several carry. The rest (most: each key
        on the listing syncd follows under it) is not kept. Returns the id followed under
        each key several listings carry."""
        keys = self._keys
        if keys is None:
            raise RuntimeError("ListGlimpses.follow: the followed listings were taken already")
        claimed = bytearray(len(self._records))
        kept: dict[str, list[str]] = {}
        several: dict[str, str | None] = {}
        for key, hemnet_id in followed:
            if hemnet_id is not None:
                for row in self._ids.rows(hemnet_id):
                    claimed[row] |= _BY_ID
            carrying = keys.rows(key)
            for row in carrying:
                claimed[row] |= _BY_KEY
            if key in self._several:
                several[key] = hemnet_id
            if carrying and (hemnet_id != self._hemnet_id_at(carrying[0]) or key in several):
                kept[key] = self._ids_of(carrying)
        self._kept, self._claimed, self._keys = kept, claimed, None
        return several

    def unknown(self) -> Iterator[str]:
        """The hemnet_ids of the list's listings syncd follows neither by id nor by key
        (after ``follow``), in the list's order."""
        for row in range(len(self._records)):
            if row in self._repeats:
                continue
            last = self._latest.get(row, row)
            # Syncd's by its id, or by the externalId the list gave it last with.
            if not self._claimed[row] & _BY_ID and not self._claimed[last] & _BY_KEY:
                yield self._hemnet_id_at(row)

    def ids(self) -> Iterator[tuple[str, str | None]]:
        """(hemnet_id, externalId) of every listing, in the list's order."""
        for row in range(len(self._records)):
            if row not in self._repeats:
                record = self._records[self._latest.get(row, row)]
                yield record[0], record[1]

    def _carrying_ids(self, key: str) -> list[str]:
        if self._keys is None:
            return self._kept.get(key, [])
        return self._ids_of(self._keys.rows(key))

    def _ids_of(self, rows: list[int]) -> list[str]:
        """The hemnet_ids of ``rows`` (ascending): the first, then each other than it."""
        ids = [self._hemnet_id_at(row) for row in rows]
        return ids[:1] + [i for i in ids[1:] if i != ids[0]]

    def _glimpse(self, first: int) -> Glimpse:
        return _unpack(self._records[self._latest.get(first, first)])

    def _hemnet_id_at(self, row: int) -> str:
        hemnet_id: str = self._records[row][0]
        return hemnet_id

    def _external_id_at(self, row: int) -> str | None:
        external_id: str | None = self._records[row][1]
        return external_id


def _pack(remote: RemoteListing, fields: bytes | None, created: str) -> tuple[Any, ...]:
    sale = remote.sale
    return (
        remote.hemnet_id,
        remote.external_id,
        remote.agency_id,
        remote.is_published,
        remote.is_approved,
        remote.is_visible,
        None if remote.market_state is None else remote.market_state.value,
        tuple(sorted(s.value for s in remote.allowed_market_states)),
        remote.approval_url,
        remote.url,
        None
        if sale is None
        else (
            sale.sale_id,
            sale.listing_id,
            sale.price,
            sale.is_price_public,
            None if sale.contract_date is None else sale.contract_date.isoformat(),
            None if sale.created_at is None else sale.created_at.isoformat(),
        ),
        fields,
        created,
    )


def _unpack(packed: tuple[Any, ...]) -> Glimpse:
    (
        hemnet_id,
        external_id,
        agency_id,
        is_published,
        is_approved,
        is_visible,
        market_state,
        allowed,
        approval_url,
        url,
        sale,
        fields,
        created,
    ) = packed
    state = RemoteListing(
        hemnet_id=hemnet_id,
        external_id=external_id,
        agency_id=agency_id,
        is_published=is_published,
        is_approved=is_approved,
        is_visible=is_visible,
        market_state=None if market_state is None else MarketState(market_state),
        allowed_market_states=frozenset(MarketState(v) for v in allowed),
        approval_url=approval_url,
        url=url,
        sale=None if sale is None else _sale(sale),
        raw=_NO_BODY,
    )
    return Glimpse(state, fields, created)


def _sale(packed: tuple[Any, ...]) -> RemoteSale:
    sale_id, listing_id, price, is_price_public, contract_date, created_at = packed
    return RemoteSale(
        sale_id=sale_id,
        listing_id=listing_id,
        price=price,
        is_price_public=is_price_public,
        contract_date=None if contract_date is None else date.fromisoformat(contract_date),
        created_at=None if created_at is None else datetime.fromisoformat(created_at),
    )


def oldest_glimpse(group: Iterable[Glimpse]) -> Glimpse:
    """``adopt.oldest`` of listings kept as glimpses (the same order)."""
    return min(group, key=lambda g: created_order(g.created, g.hemnet_id))


def is_in_step(glimpse: Glimpse, sent_fields: Callable[[], Mapping[str, Any] | None]) -> bool:
    """Whether Hemnet's fields equal what syncd sent (``sent_fields()``, None when nothing
    was), so the run need not read them: true also when nothing was sent (no drift is
    computed then) as long as Hemnet's body could be read."""
    if glimpse.fields is None:
        return False
    sent = sent_fields()
    return sent is None or fields_digest(sent) == glimpse.fields


__all__ = [
    "Glimpse",
    "ListGlimpses",
    "fields_digest",
    "is_in_step",
    "oldest_glimpse",
]
