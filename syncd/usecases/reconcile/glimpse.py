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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any

from syncd.core.domain import LISTING_FIELDS
from syncd.hemnet.models import RemoteListing
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


class Glimpser:
    """Turns each listing of the list into a ``Glimpse`` as its page is read, sharing the
    values many listings repeat (agency ids, sets of market states)."""

    def __init__(self) -> None:
        self._shared: dict[object, Any] = {}

    def __call__(self, remote: RemoteListing) -> Glimpse:
        try:
            fields: bytes | None = fields_digest(listing_fields_from(remote.raw))
        except (KeyError, TypeError, ValueError):
            fields = None  # compare reads it whole, and says why it cannot be read
        state = dataclasses.replace(
            remote,
            agency_id=self._share(remote.agency_id),
            allowed_market_states=self._share(remote.allowed_market_states),
            raw=_NO_BODY,
        )
        return Glimpse(state, fields, created_stamp(remote))

    def _share(self, value: Any) -> Any:
        return value if value is None else self._shared.setdefault(value, value)


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
    "Glimpser",
    "fields_digest",
    "is_in_step",
    "oldest_glimpse",
]
