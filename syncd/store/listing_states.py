"""Listings' planning and status facts: of some listings, or of all in chunks by key.

One Core query reads the columns as text (no ORM rows). Nothing decoded is kept between
reads (only a digest per listing, ``SentAsWanted``): a reader of every listing takes them
``listing_key_chunks`` at a time, so memory stays that of one chunk however many listings
the store holds.
Reads only; never decides anything (that is the planner's and the views').
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from syncd.core.domain import (
    Agency,
    Desired,
    ImageState,
    KnownImage,
    KnownListing,
    Listing,
    MarketState,
    Sale,
    image_right_from_plain,
    listing_from_plain,
)
from syncd.store.fence import scope_of
from syncd.store.holds import released_removals, released_updates
from syncd.store.portable import json_text
from syncd.store.tables import AgencyRow, ImageRow, ListingRow


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """One image row as the views count it: its source URL and Hemnet's state of it."""

    url: str
    state: str | None


@dataclass(frozen=True, slots=True)
class ListingState:
    """One listing as the planner and the status views read it (one row, decoded)."""

    listing_key: str
    agency_key: str
    desired: Listing | None  # None: the listing left the CRM
    known: KnownListing | None  # None until Hemnet gave the listing an id
    images: tuple[ImageFacts, ...]  # every image row, in position order
    content_hash: str | None
    failed_hash: str | None
    missing_since: datetime | None
    stage: str | None
    hemnet_id: str | None
    is_published: bool
    is_approved: bool
    approval_url: str | None
    public_url: str | None
    published_at: datetime | None
    last_error: str | None
    updated_at: datetime

    @property
    def refused(self) -> bool:
        """Hemnet rejected exactly the content the CRM still wants: wait for a change."""
        return self.failed_hash is not None and self.failed_hash == self.content_hash


def _decoded(text: str | None) -> Listing | None:
    # The JSON type stores a Python None as the JSON text "null", not as SQL NULL.
    if text is None or text == "null":
        return None
    return listing_from_plain(json.loads(text))


class SentAsWanted:
    """Digests of listings whose stored desired and sent texts decode to equal listings:
    the listing last sent is usually the one the CRM still wants, stored as other text,
    and a read then takes the desired listing for it without decoding it.

    One 16-byte digest (of the key and both texts) per listing, never a decoded listing
    (a cache of those held hundreds of megabytes at 100,000 listings for the daemon's
    life); 8 MiB at 100,000.
    A read of every listing (``begin``, ``end``) keeps only the digests it met. Reads on
    other threads may race; the worst outcome is decoding again.
    """

    def __init__(self) -> None:
        self._current: set[int] = set()
        self._previous: set[int] = set()

    def begin(self) -> None:
        """A read of every listing starts: a digest it does not meet is dropped at its end
        (or at the next one's start, should it not end)."""
        self._previous, self._current = self._current, set()

    def end(self) -> None:
        self._previous = set()

    def sent(
        self, key: str, text: str | None, desired_text: str | None, desired: Listing | None
    ) -> Listing | None:
        """The listing sent, stored as ``text``: ``desired`` itself when equal to it."""
        if desired is None or text is None or desired_text is None:
            return _decoded(text)
        if text == desired_text:
            return desired
        digest = hashlib.blake2b(key.encode(), digest_size=16)
        for part in (desired_text, text):
            digest.update(b"\0" + part.encode())
        pair = int.from_bytes(digest.digest(), "big")
        if pair in self._current:
            return desired
        if pair in self._previous:
            self._previous.discard(pair)
            self._current.add(pair)
            return desired
        found = _decoded(text)
        if found == desired:
            self._current.add(pair)
            return desired
        return found


# The process's: the passes and the status views read the same listings.
SENT_AS_WANTED = SentAsWanted()

_COLUMNS = (
    ListingRow.listing_key,
    ListingRow.agency_key,
    json_text(ListingRow.desired_json).label("desired_text"),
    ListingRow.content_hash,
    ListingRow.failed_hash,
    ListingRow.missing_since,
    ListingRow.stage,
    ListingRow.hemnet_id,
    json_text(ListingRow.sent_json).label("sent_text"),
    ListingRow.is_published,
    ListingRow.is_approved,
    ListingRow.market_state,
    ListingRow.allowed_market_states,
    ListingRow.sold_json,
    ListingRow.sent_seller_hash,
    ListingRow.sent_billing_hash,
    ListingRow.sent_image_right_json,
    ListingRow.approval_url,
    ListingRow.public_url,
    ListingRow.published_at,
    ListingRow.last_error,
    ListingRow.updated_at,
)

_IMAGE_COLUMNS = (
    ImageRow.listing_key,
    ImageRow.url,
    ImageRow.hemnet_image_id,
    ImageRow.state,
    ImageRow.position,
    ImageRow.caption,
    ImageRow.revision,
    ImageRow.state_message,
)


def sale_from_plain(data: dict[str, Any] | None) -> Sale | None:
    if data is None:
        return None
    return Sale(
        price=int(data["price"]),
        price_is_public=bool(data["price_is_public"]),
        sold_on=date.fromisoformat(data["sold_on"]),
    )


def read_listing_states(
    session: Session,
    *,
    only: str | None = None,
    keys: Collection[str] | None = None,
    sent_as_wanted: SentAsWanted = SENT_AS_WANTED,
) -> list[ListingState]:
    """Every listing (or ``only`` the one, or those of ``keys``), by listing_key, with its
    images; two queries (two per few hundred ``keys``)."""
    facts: dict[str, list[ImageFacts]] = {}
    known_images: dict[str, list[KnownImage]] = {}
    image_query = select(*_IMAGE_COLUMNS).order_by(ImageRow.position, ImageRow.url)
    listing_query = select(*_COLUMNS).order_by(ListingRow.listing_key)
    if only is not None:
        keys = (only,)
    scope = scope_of(session)
    if scope is not None:
        # A fleet's instance plans for the agencies it holds (store/fence.py).
        agencies = sorted(scope)
        listing_query = listing_query.where(ListingRow.agency_key.in_(agencies))
        image_query = image_query.where(
            ImageRow.listing_key.in_(
                select(ListingRow.listing_key).where(ListingRow.agency_key.in_(agencies))
            )
        )
    for key, url, image_id, state, position, caption, revision, message in _rows(
        session, image_query, ImageRow.listing_key, keys
    ):
        facts.setdefault(key, []).append(ImageFacts(url, state))
        if image_id is not None and state is not None:
            known_images.setdefault(key, []).append(
                KnownImage(
                    url=url,
                    image_id=image_id,
                    state=ImageState(state),
                    order=position,
                    caption=caption,
                    revision=revision,
                    state_message=message,
                )
            )
    states: list[ListingState] = []
    # In key order: the chunks are taken in key order, each ordered by key.
    for row in _rows(session, listing_query, ListingRow.listing_key, keys):
        key = row.listing_key
        desired = _decoded(row.desired_text)
        known = None
        if row.hemnet_id is not None:
            known = KnownListing(
                listing_key=key,
                hemnet_id=row.hemnet_id,
                sent=sent_as_wanted.sent(key, row.sent_text, row.desired_text, desired),
                images=tuple(known_images.get(key, ())),
                is_published=row.is_published,
                is_approved=row.is_approved,
                market_state=MarketState(row.market_state) if row.market_state else None,
                allowed_market_states=frozenset(
                    MarketState(s) for s in (row.allowed_market_states or ())
                ),
                sold=sale_from_plain(row.sold_json),
                seller_hash=row.sent_seller_hash,
                billing_hash=row.sent_billing_hash,
                image_right=image_right_from_plain(row.sent_image_right_json),
                approval_url=row.approval_url,
                rejected_hash=row.failed_hash,
            )
        states.append(
            ListingState(
                listing_key=key,
                agency_key=row.agency_key,
                desired=desired,
                known=known,
                images=tuple(facts.get(key, ())),
                content_hash=row.content_hash,
                failed_hash=row.failed_hash,
                missing_since=row.missing_since,
                stage=row.stage,
                hemnet_id=row.hemnet_id,
                is_published=row.is_published,
                is_approved=row.is_approved,
                approval_url=row.approval_url,
                public_url=row.public_url,
                published_at=row.published_at,
                last_error=row.last_error,
                updated_at=row.updated_at,
            )
        )
    return states


# Keys bound in one statement, well under SQLite's limit on variables.
_KEYS_PER_STATEMENT = 500
_ROWS_PER_FETCH = 1000


def listing_key_chunks(session: Session, size: int) -> Iterator[list[str]]:
    """Every listing's key (in a fleet, of the agencies this instance holds), in order,
    ``size`` at a time: one narrow query per chunk, from the last key on."""
    query = select(ListingRow.listing_key).order_by(ListingRow.listing_key)
    scope = scope_of(session)
    if scope is not None:
        query = query.where(ListingRow.agency_key.in_(sorted(scope)))
    after: str | None = None
    while True:
        page = query if after is None else query.where(ListingRow.listing_key > after)
        keys = list(session.scalars(page.limit(size)))
        if not keys:
            return
        after = keys[-1]
        yield keys


def _rows(
    session: Session, query: Any, key_column: Any, keys: Collection[str] | None
) -> Iterator[Any]:
    """The rows of ``query``, of the listings of ``keys`` only unless it is None."""
    if keys is None:
        # In batches: fetched whole, every listing's stored JSON would sit in memory at once,
        # beside the states decoded from it.
        yield from session.execute(query, execution_options={"yield_per": _ROWS_PER_FETCH})
        return
    ordered = sorted(keys)
    for start in range(0, len(ordered), _KEYS_PER_STATEMENT):
        chunk = ordered[start : start + _KEYS_PER_STATEMENT]
        yield from session.execute(query.where(key_column.in_(chunk)))


@dataclass(frozen=True)
class DesiredContext:
    """What ``desired`` holds beside the listings: the same for every chunk of one pass."""

    agencies: dict[str, Agency]
    released_removals: dict[str, datetime]
    released_updates: dict[str, str]


def desired_context(session: Session) -> DesiredContext:
    query = select(AgencyRow).order_by(AgencyRow.key)
    scope = scope_of(session)
    if scope is not None:
        query = query.where(AgencyRow.key.in_(sorted(scope)))
    agencies = {
        row.key: Agency(row.key, row.name, row.organisation_number)
        for row in session.scalars(query)
    }
    return DesiredContext(agencies, released_removals(session), released_updates(session))


def desired_of(
    session: Session, states: Iterable[ListingState], context: DesiredContext | None = None
) -> Desired:
    """What the CRM wants now (the planner's ``desired``), with removal guards' data;
    ``context`` read once for many calls, or read here."""
    listings: dict[str, Listing] = {}
    missing: dict[str, datetime] = {}
    for state in states:
        if state.desired is not None:
            listings[state.listing_key] = state.desired
        elif state.missing_since is not None:
            missing[state.listing_key] = state.missing_since
    if context is None:
        context = desired_context(session)
    return Desired(
        listings=listings,
        agencies=context.agencies,
        missing_since=missing,
        released_removals=context.released_removals,
        released_updates=context.released_updates,
    )


@dataclass(frozen=True, slots=True)
class AwaitedApproval:
    listing_key: str
    published_at: datetime
    approval_url: str | None


def awaiting_approval(session: Session) -> list[AwaitedApproval]:
    """Listings published and not approved by the broker yet (and not sold), by key: three
    columns each, nothing decoded (the alerts read them every health check)."""
    query = (
        select(ListingRow.listing_key, ListingRow.published_at, ListingRow.approval_url)
        .where(
            ListingRow.is_published,
            ListingRow.is_approved.is_(False),
            ListingRow.published_at.is_not(None),
            # A sale is Hemnet's only for a listing it knows; SQL NULL or the JSON null.
            or_(
                ListingRow.hemnet_id.is_(None), ListingRow.sold_json["price"].as_string().is_(None)
            ),
        )
        .order_by(ListingRow.listing_key)
    )
    scope = scope_of(session)
    if scope is not None:
        query = query.where(ListingRow.agency_key.in_(sorted(scope)))
    rows = session.execute(query)
    return [AwaitedApproval(key, at, url) for key, at, url in rows if at is not None]


def known_of(states: Iterable[ListingState]) -> dict[str, KnownListing]:
    """Every listing Hemnet is known to have, by listing_key (the planner's ``known``)."""
    return {state.listing_key: state.known for state in states if state.known is not None}
