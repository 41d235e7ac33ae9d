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
import marshal
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any

from syncd.core.domain import LISTING_FIELDS, MarketState
from syncd.hemnet.models import RemoteListing, RemoteSale
from syncd.hemnet.payload import listing_fields_from
from syncd.usecases.adopt import created_order, created_stamp

_NO_BODY: Mapping[str, Any] = MappingProxyType({})


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
    client's ``glance_listings`` calls it on each): every listing packed into one bytes
    value (about 200 bytes, a few objects less than a ``Glimpse`` of its own, 660 bytes),
    unpacked when a step asks for it. Keeps the list's order."""

    def __init__(self) -> None:
        self._packed: dict[str, bytes] = {}  # hemnet_id -> packed glimpse
        self._first: dict[str, str] = {}  # externalId -> the first hemnet_id carrying it
        self._also: dict[str, list[str]] = {}  # externalId -> the others carrying it

    def __call__(self, remote: RemoteListing) -> str:
        try:
            fields: bytes | None = fields_digest(listing_fields_from(remote.raw))
        except (KeyError, TypeError, ValueError):
            fields = None  # compare reads it whole, and says why it cannot be read
        hemnet_id = remote.hemnet_id
        self._packed[hemnet_id] = _pack(remote, fields, created_stamp(remote))
        key = remote.external_id
        if key is not None and self._first.setdefault(key, hemnet_id) != hemnet_id:
            self._also.setdefault(key, []).append(hemnet_id)
        return hemnet_id

    def __len__(self) -> int:
        return len(self._packed)

    def get(self, hemnet_id: str) -> Glimpse | None:
        packed = self._packed.get(hemnet_id)
        return None if packed is None else _unpack(hemnet_id, packed)

    def __contains__(self, key: object) -> bool:
        """Whether a listing of the list carries the externalId ``key``."""
        return key in self._first

    def carrying(self, key: str) -> list[Glimpse]:
        """The listings carrying the externalId ``key``, in the list's order."""
        first = self._first.get(key)
        ids = [] if first is None else [first, *self._also.get(key, ())]
        return [_unpack(i, self._packed[i]) for i in ids]

    def several(self) -> list[str]:
        """The externalIds several listings carry, sorted."""
        return sorted(self._also)

    def keep_keys_to_follow(self, followed: Mapping[str, str | None]) -> None:
        """Forget which listing carries an externalId except where a run's steps look it
        up: a key syncd follows (``followed``: listing_key -> hemnet_id) under no id or an
        id other than the one carrying it (adopt), or one several carry. The rest (most:
        each key on the listing syncd follows under it) is about 100 bytes a listing."""
        self._first = {
            key: hemnet_id
            for key, hemnet_id in self._first.items()
            if key in followed and (followed[key] != hemnet_id or key in self._also)
        }

    def ids(self) -> Iterator[tuple[str, str | None]]:
        """(hemnet_id, externalId) of every listing, in the list's order."""
        for hemnet_id, packed in self._packed.items():
            yield hemnet_id, _unpack(hemnet_id, packed).external_id


# marshal: the compact encoding of the plain values of one process's run (never stored,
# never read by another version).
def _pack(remote: RemoteListing, fields: bytes | None, created: str) -> bytes:
    sale = remote.sale
    return marshal.dumps(
        (
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
    )


def _unpack(hemnet_id: str, packed: bytes) -> Glimpse:
    (
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
    ) = marshal.loads(packed)  # noqa: S302 (packed by this process, just above)
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
