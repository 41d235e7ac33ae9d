"""Queries on listings, their agencies and known images, and their domain views.

Reads and writes rows inside a caller's transaction; never commits, never decides what to
send (that is plan.py).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    ColumnElement,
    Dialect,
    Table,
    Text,
    bindparam,
    func,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from syncd.domain import (
    Agency,
    Hashes,
    ImageRight,
    ImageState,
    KnownAgency,
    KnownImage,
    KnownListing,
    Listing,
    MarketState,
    Sale,
    image_right_from_plain,
    listing_from_plain,
    to_plain,
)
from syncd.errors import StateError
from syncd.store.listing_states import sale_from_plain
from syncd.store.tables import AgencyRow, ExportFile, ImageRow, ListingRow

# --- listings ------------------------------------------------------------------------------


def get_listing(session: Session, listing_key: str) -> ListingRow | None:
    return session.get(ListingRow, listing_key)


def get_listing_by_hemnet_id(session: Session, hemnet_id: str) -> ListingRow | None:
    return session.scalars(select(ListingRow).where(ListingRow.hemnet_id == hemnet_id)).first()


def all_listings(session: Session) -> list[ListingRow]:
    return list(session.scalars(select(ListingRow).order_by(ListingRow.listing_key)))


def listings_by_stage(session: Session, stage: str) -> list[ListingRow]:
    query = select(ListingRow).where(ListingRow.stage == stage).order_by(ListingRow.listing_key)
    return list(session.scalars(query))


def listings_of_agency(session: Session, agency_key: str) -> list[ListingRow]:
    query = (
        select(ListingRow)
        .where(ListingRow.agency_key == agency_key)
        .order_by(ListingRow.listing_key)
    )
    return list(session.scalars(query))


def listings_due_for_poll(session: Session, now: datetime) -> list[ListingRow]:
    query = (
        select(ListingRow)
        .where(ListingRow.next_poll_at.is_not(None), ListingRow.next_poll_at <= now)
        .order_by(ListingRow.next_poll_at)
    )
    return list(session.scalars(query))


def desired_listing(row: ListingRow) -> Listing | None:
    return None if row.desired_json is None else listing_from_plain(row.desired_json)


def record_sent(
    session: Session,
    listing_key: str,
    now: datetime,
    *,
    hemnet_id: str | None = None,
    sent: Listing | None = None,
) -> ListingRow:
    """Hemnet confirmed a create or update: remember the listing as sent and its hash."""
    row = _require(session, listing_key)
    if hemnet_id is not None:
        row.hemnet_id = hemnet_id
    if sent is not None:
        row.sent_json = to_plain(sent)
        row.applied_hash = Hashes.of(sent).content
    row.failed_hash = None
    row.last_error = None
    row.updated_at = now
    session.flush()
    return row


def record_failure(
    session: Session, listing_key: str, error: str, now: datetime, failed_hash: str | None
) -> None:
    """Hemnet refused an op: nothing more is sent until the content hash changes."""
    _update(session, listing_key, now, last_error=error, failed_hash=failed_hash)


def set_stage(
    session: Session,
    listing_key: str,
    stage: str,
    now: datetime,
    next_poll_at: datetime | None = None,
) -> None:
    _update(session, listing_key, now, stage=stage, next_poll_at=next_poll_at)


def record_remote_state(
    session: Session,
    listing_key: str,
    now: datetime,
    *,
    is_published: bool,
    is_approved: bool,
    market_state: MarketState | None = None,
    allowed_market_states: Iterable[MarketState] = (),
    approval_url: str | None = None,
    public_url: str | None = None,
    sold: Sale | None = None,
) -> ListingRow:
    """What Hemnet reported for the listing (outcome, poll or reconcile).

    published_at and visible_at keep the first time each was seen, for "waiting since".
    An answer that changes nothing writes nothing (a reconcile reads back every listing).
    """
    row = _require(session, listing_key)
    facts: dict[str, Any] = {
        "is_published": is_published,
        "is_approved": is_approved,
        "market_state": market_state.value if market_state else None,
        "allowed_market_states": sorted(s.value for s in allowed_market_states),
        "approval_url": approval_url,
        "public_url": public_url,
    }
    if sold is not None:
        facts["sold_json"] = to_plain(sold)
    changed = {name: value for name, value in facts.items() if getattr(row, name) != value}
    if not changed:
        return row
    if is_published and not row.is_published:
        row.published_at = now
    if is_published and is_approved and not (row.is_published and row.is_approved):
        row.visible_at = now
    for name, value in changed.items():
        setattr(row, name, value)
    row.updated_at = now
    session.flush()
    return row


def record_sent_hashes(
    session: Session,
    listing_key: str,
    now: datetime,
    *,
    seller_hash: str | None = None,
    billing_hash: str | None = None,
) -> None:
    """Seller and billing information are write-only on Hemnet: remember what was sent."""
    sent = {"sent_seller_hash": seller_hash, "sent_billing_hash": billing_hash}
    _update(session, listing_key, now, **{k: v for k, v in sent.items() if v is not None})


def record_image_right(
    session: Session, listing_key: str, right: ImageRight | None, now: datetime
) -> None:
    """Hemnet confirmed a PUT (``right``) or a DELETE (None) of the listing's image right."""
    sent = None if right is None else to_plain(right)
    _update(session, listing_key, now, sent_image_right_json=sent)


def clear_failure(session: Session, listing_key: str, now: datetime) -> bool:
    """Forget that Hemnet rejected the listing ('syncd retry KEY'); False if it was not."""
    row = _require(session, listing_key)
    was_failed = row.failed_hash is not None
    row.failed_hash = None
    row.last_error = None
    row.updated_at = now
    session.flush()
    return was_failed


# Everything known of a listing on Hemnet, as it is before the first create.
_NOTHING_KNOWN: dict[str, Any] = {
    "hemnet_id": None,
    "sent_json": None,
    "applied_hash": None,
    "sent_seller_hash": None,
    "sent_billing_hash": None,
    "sent_image_right_json": None,
    "is_published": False,
    "is_approved": False,
    "market_state": None,
    "allowed_market_states": None,
    "sold_json": None,
    "approval_url": None,
    "public_url": None,
    "published_at": None,
    "visible_at": None,
    "next_poll_at": None,
}


def forget_remote(session: Session, listing_key: str, now: datetime) -> None:
    """Hemnet no longer has the listing: clear everything known of it, so the next plan
    creates it again (write-only seller and billing information included)."""
    _require(session, listing_key)
    for image in known_images(session, listing_key):
        session.delete(image)
    _update(session, listing_key, now, **_NOTHING_KNOWN)


def record_sold(session: Session, listing_key: str, sale: Sale, now: datetime) -> None:
    """Hemnet took the sale: the listing is sold and off Hemnet (it unpublishes it)."""
    sold = to_plain(sale)
    _update(session, listing_key, now, sold_json=sold, is_published=False, allowed_market_states=[])


def record_sale_deleted(session: Session, listing_key: str, now: datetime) -> None:
    """syncd published a sold listing again, which deleted its sale on Hemnet.

    Only syncd's own republish clears a sale: a sale missing from a read-back (someone
    republished on Hemnet) stays recorded, and shows as a conflict (progress.conflicts).
    """
    _update(session, listing_key, now, sold_json=None)


def _update(session: Session, listing_key: str, now: datetime, **columns: Any) -> ListingRow:
    """Set columns of a listing's row (it must be there) and when it changed."""
    row = _require(session, listing_key)
    for name, value in columns.items():
        setattr(row, name, value)
    row.updated_at = now
    session.flush()
    return row


def _require(session: Session, listing_key: str) -> ListingRow:
    row = session.get(ListingRow, listing_key)
    if row is None:
        raise StateError(f"listing {listing_key} is not in the state database")
    return row


# --- agencies ------------------------------------------------------------------------------


def get_agency(session: Session, key: str) -> AgencyRow | None:
    return session.get(AgencyRow, key)


def save_agency(session: Session, agency: Agency, now: datetime) -> AgencyRow:
    row = session.get(AgencyRow, agency.key)
    if row is None:
        row = AgencyRow(key=agency.key)
        session.add(row)
    row.name = agency.name
    row.organisation_number = agency.organisation_number
    row.updated_at = now
    session.flush()
    return row


def set_agency_hemnet_id(session: Session, key: str, hemnet_id: str, now: datetime) -> None:
    row = session.get(AgencyRow, key)
    if row is None:
        raise StateError(f"agency {key} is not in the state database")
    row.hemnet_id = hemnet_id
    row.updated_at = now
    session.flush()


def known_agencies(session: Session) -> dict[str, KnownAgency]:
    """Agencies Hemnet has an id for, by key (the planner's ``agencies``)."""
    rows = session.scalars(select(AgencyRow).where(AgencyRow.hemnet_id.is_not(None)))
    return {row.key: KnownAgency(row.key, str(row.hemnet_id)) for row in rows}


def all_agencies(session: Session) -> list[AgencyRow]:
    return list(session.scalars(select(AgencyRow).order_by(AgencyRow.key)))


# --- known images --------------------------------------------------------------------------


def known_images(session: Session, listing_key: str) -> list[ImageRow]:
    query = (
        select(ImageRow)
        .where(ImageRow.listing_key == listing_key)
        .order_by(ImageRow.position, ImageRow.url)
    )
    return list(session.scalars(query))


def save_known_image(
    session: Session, listing_key: str, image: KnownImage, now: datetime, *, is_floor_plan: bool
) -> ImageRow:
    """Insert or update the image Hemnet has at ``image.url`` for this listing."""
    row = session.scalars(
        select(ImageRow).where(ImageRow.listing_key == listing_key, ImageRow.url == image.url)
    ).first()
    if row is None:
        row = ImageRow(listing_key=listing_key, url=image.url)
        session.add(row)
    row.hemnet_image_id = image.image_id
    row.state = image.state.value
    row.state_message = image.state_message
    row.position = image.order
    row.caption = image.caption
    row.revision = image.revision
    row.is_floor_plan = is_floor_plan
    row.updated_at = now
    session.flush()
    return row


def delete_known_image(session: Session, listing_key: str, url: str) -> bool:
    row = session.scalars(
        select(ImageRow).where(ImageRow.listing_key == listing_key, ImageRow.url == url)
    ).first()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


# --- domain views --------------------------------------------------------------------------


def _known_image(row: ImageRow) -> KnownImage | None:
    if row.hemnet_image_id is None or row.state is None:
        return None
    return KnownImage(
        url=row.url,
        image_id=row.hemnet_image_id,
        state=ImageState(row.state),
        order=row.position,
        caption=row.caption,
        revision=row.revision,
        state_message=row.state_message,
    )


def known_listing(row: ListingRow, images: Sequence[ImageRow] = ()) -> KnownListing | None:
    """What Hemnet is known to have; None until Hemnet gave the listing an id."""
    if row.hemnet_id is None:
        return None
    known_imgs = tuple(k for k in (_known_image(img) for img in images) if k is not None)
    return KnownListing(
        listing_key=row.listing_key,
        hemnet_id=row.hemnet_id,
        sent=None if row.sent_json is None else listing_from_plain(row.sent_json),
        images=known_imgs,
        is_published=row.is_published,
        is_approved=row.is_approved,
        market_state=MarketState(row.market_state) if row.market_state else None,
        allowed_market_states=frozenset(MarketState(s) for s in (row.allowed_market_states or ())),
        sold=sale_from_plain(row.sold_json),
        seller_hash=row.sent_seller_hash,
        billing_hash=row.sent_billing_hash,
        image_right=image_right_from_plain(row.sent_image_right_json),
        approval_url=row.approval_url,
        rejected_hash=row.failed_hash,
    )


# --- views ---------------------------------------------------------------------------------


def record_stage(session: Session, listing_key: str, stage: str) -> bool:
    """Store the stage the status views computed; True when it changed.

    Leaves next_poll_at and updated_at alone: the stage is derived, not a new fact.
    """
    row = _require(session, listing_key)
    if row.stage == stage:
        return False
    row.stage = stage
    session.flush()
    return True


def record_stages(session: Session, stages: dict[str, str]) -> None:
    """Store many computed stages at once (listing_key -> stage); a deleted listing is skipped.

    One executemany: at 10,000 listings a row-by-row write cost seconds per status update.
    """
    if not stages:
        return
    table = cast(Table, ListingRow.__table__)
    session.execute(
        update(table)
        .where(table.c.listing_key == bindparam("key"))
        .values(stage=bindparam("new_stage")),
        [{"key": key, "new_stage": stage} for key, stage in stages.items()],
    )


# --- poll / reconcile ----------------------------------------------------------------------


def listings_to_follow_unscheduled(session: Session) -> list[ListingRow]:
    """Listings Hemnet is busy with (images in progress, published but not approved) that no
    one has scheduled a poll for: found here so a missed ``next_poll_at`` never strands them."""
    processing = (
        select(ImageRow.id)
        .where(
            ImageRow.listing_key == ListingRow.listing_key,
            ImageRow.state == ImageState.IN_PROGRESS.value,
        )
        .exists()
    )
    awaiting = ListingRow.is_published.is_(True) & ListingRow.is_approved.is_(False)
    query = (
        select(ListingRow)
        .where(
            ListingRow.hemnet_id.is_not(None),
            ListingRow.next_poll_at.is_(None),
            ListingRow.sold_json.is_(None),
            processing | awaiting,
        )
        .order_by(ListingRow.listing_key)
    )
    return list(session.scalars(query))


def earliest_next_poll_at(session: Session) -> datetime | None:
    """When the next listing is due for a poll (None: nothing scheduled)."""
    query = (
        select(ListingRow.next_poll_at)
        .where(ListingRow.next_poll_at.is_not(None))
        .order_by(ListingRow.next_poll_at)
        .limit(1)
    )
    return session.scalars(query).first()


def oldest_awaiting_approval_since(session: Session) -> datetime | None:
    """``published_at`` of the listing that has waited longest for the broker's approval."""
    query = (
        select(ListingRow.published_at)
        .where(
            ListingRow.hemnet_id.is_not(None),
            ListingRow.is_published.is_(True),
            ListingRow.is_approved.is_(False),
            ListingRow.sold_json.is_(None),
            ListingRow.published_at.is_not(None),
        )
        .order_by(ListingRow.published_at)
        .limit(1)
    )
    return session.scalars(query).first()


def set_next_poll_at(
    session: Session, listing_key: str, next_poll_at: datetime | None, now: datetime
) -> None:
    _update(session, listing_key, now, next_poll_at=next_poll_at)


def set_image_state(
    session: Session,
    listing_key: str,
    url: str,
    now: datetime,
    *,
    state: ImageState,
    state_message: str | None,
) -> bool:
    """What a poll read for one known image; False when the image is no longer known."""
    row = session.scalars(
        select(ImageRow).where(ImageRow.listing_key == listing_key, ImageRow.url == url)
    ).first()
    if row is None:
        return False
    row.state = state.value
    row.state_message = state_message
    row.updated_at = now
    session.flush()
    return True


def record_seen_on_hemnet(
    session: Session,
    listing_key: str,
    now: datetime,
    *,
    sent: Listing | None,
    hemnet_id: str | None = None,
) -> ListingRow:
    """Reconcile: the listing body as Hemnet holds it becomes the known ``sent`` state.

    Unlike ``record_sent`` it keeps ``failed_hash`` and ``last_error``: reading Hemnet back
    says nothing about whether the CRM's current content would be accepted.
    """
    row = _require(session, listing_key)
    if hemnet_id is not None:
        row.hemnet_id = hemnet_id
    row.sent_json = None if sent is None else to_plain(sent)
    row.applied_hash = None if sent is None else Hashes.of(sent).content
    row.updated_at = now
    session.flush()
    return row


def failed_images(session: Session) -> list[ImageRow]:
    """Images Hemnet could not process, over all listings (for the operator's alerts)."""
    query = (
        select(ImageRow)
        .where(ImageRow.state == ImageState.FAILED.value)
        .order_by(ImageRow.listing_key, ImageRow.url)
    )
    return list(session.scalars(query))


# --- ingest: the desired side in batches ---------------------------------------------------
# Core statements, not ORM objects: ingest writes up to 100,000 listings per export file, and
# building, tracking and flushing one ORM object each cost far more than the SQL. The rows
# written here are never in a session's identity map, so callers must not mix these with
# ORM reads of the same listings in one transaction.

_LISTINGS = cast(Table, ListingRow.__table__)
# mark_missing_rows writes JSON null (the JSON type's None), save_desired_rows never NULL:
# a listing has a desired state when the column is neither.
_HAS_DESIRED = _LISTINGS.c.desired_json.is_not(None) & (
    type_coerce(_LISTINGS.c.desired_json, Text()) != "null"
)


@dataclass(frozen=True, slots=True)
class StoredDesired:
    """What ingest compares a parsed listing with: the desired side's hashes, not its JSON."""

    listing_key: str
    agency_key: str
    has_desired: bool
    hashes: tuple[str | None, str | None, str | None, str | None, str | None, str | None]
    desired_status: str | None
    missing_since: datetime | None


@dataclass(frozen=True, slots=True)
class DesiredRow:
    """A listing's desired side ready to store: ``desired_json`` is the JSON text of
    ``to_plain(listing)``, ``hashes`` its content, images, sale, seller, billing and image
    right hashes."""

    listing_key: str
    agency_key: str
    desired_status: str
    hashes: tuple[str, str, str | None, str | None, str | None, str | None]
    desired_json: str


def stored_desired(session: Session, listing_keys: Collection[str]) -> dict[str, StoredDesired]:
    """The stored desired side of these listings (one SELECT; at most ~30,000 keys)."""
    if not listing_keys:
        return {}
    c = _LISTINGS.c
    query = select(
        c.listing_key,
        c.agency_key,
        _HAS_DESIRED,
        c.content_hash,
        c.images_hash,
        c.sale_hash,
        c.seller_hash,
        c.billing_hash,
        c.image_right_hash,
        c.desired_status,
        c.missing_since,
    ).where(c.listing_key.in_(listing_keys))
    found: dict[str, StoredDesired] = {}
    for key, agency, has_desired, *hashes, status, missing_since in session.execute(query):
        found[key] = StoredDesired(
            key,
            agency,
            bool(has_desired),
            tuple(hashes),
            status,
            missing_since,
        )
    return found


def desired_plain(session: Session, listing_keys: Collection[str]) -> dict[str, dict[str, Any]]:
    """The stored ``to_plain`` form of these listings' desired state (those that have one)."""
    if not listing_keys:
        return {}
    c = _LISTINGS.c
    query = select(c.listing_key, c.desired_json).where(
        c.listing_key.in_(listing_keys), _HAS_DESIRED
    )
    return {key: data for key, data in session.execute(query) if data is not None}


def save_desired_rows(
    session: Session, rows: Sequence[DesiredRow], now: datetime, source_file_id: int | None
) -> None:
    """Insert or update the desired side of many listings in one executemany.

    missing_since is cleared, first_seen_at is only set for a new listing, the known side
    is left alone.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    # Every row has the same time and file: converted once, as the column types would each
    # time, then plain tuples straight to the driver (SQLAlchemy's per-row work on a
    # compiled upsert was two thirds of this call's cost).
    at = _bind_value(_LISTINGS.c.desired_at, now, dialect)
    unset = _bind_value(_LISTINGS.c.is_published, False, dialect)
    connection.exec_driver_sql(
        _UPSERT_DESIRED_SQL,
        [
            (
                row.listing_key,
                row.agency_key,
                row.desired_json,  # already JSON text: the JSON type must not encode it again
                *row.hashes,
                row.desired_status,
                source_file_id,
                at,  # desired_at
                None,  # missing_since
                at,  # first_seen_at
                unset,  # is_published (the column default of a new row)
                unset,  # is_approved
                at,  # updated_at
            )
            for row in rows
        ],
    )


def _bind_value(column: ColumnElement[Any], value: Any, dialect: Dialect) -> Any:
    """``value`` as the column's type would send it to the driver."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return value if process is None else process(value)


_UPSERTED = (
    "agency_key",
    "desired_json",
    "content_hash",
    "images_hash",
    "sale_hash",
    "seller_hash",
    "billing_hash",
    "image_right_hash",
    "desired_status",
    "source_file_id",
    "desired_at",
    "missing_since",
    "updated_at",
)
# What SQLAlchemy compiles for the upsert (tests compare the rows both write).
_UPSERT_DESIRED_SQL = (
    "INSERT INTO listings (listing_key, agency_key, desired_json, content_hash, images_hash, "
    "sale_hash, seller_hash, billing_hash, image_right_hash, desired_status, source_file_id, "
    "desired_at, missing_since, first_seen_at, is_published, is_approved, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (listing_key) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _UPSERTED)
)


def keys_with_desired(session: Session, agency_key: str) -> list[str]:
    """The listing keys of an agency that have a desired state, in key order (no rows)."""
    c = _LISTINGS.c
    query = (
        select(c.listing_key)
        .where(c.agency_key == agency_key, _HAS_DESIRED)
        .order_by(c.listing_key)
    )
    return list(session.scalars(query))


def agency_sources(session: Session) -> set[tuple[str, str]]:
    """(agency key, export file name) for every file a listing's desired state came from."""
    c = _LISTINGS.c
    query = (
        select(c.agency_key, ExportFile.name)
        .distinct()
        .join(ExportFile, ExportFile.id == c.source_file_id)
        .where(_HAS_DESIRED)
    )
    return {(agency, name) for agency, name in session.execute(query)}


def mark_missing_rows(session: Session, listing_keys: Sequence[str], now: datetime) -> None:
    """Listings (known to exist) absent from a full export, in one executemany: desired
    becomes JSON null, missing_since is kept from the first absence (the removal grace
    counts from there)."""
    if not listing_keys:
        return
    c = _LISTINGS.c
    at = bindparam("now", now, type_=c.updated_at.type)
    statement = (
        update(_LISTINGS)
        .where(c.listing_key == bindparam("key"))
        .values(desired_json=JSON.NULL, missing_since=func.coalesce(c.missing_since, at))
        .values(updated_at=at)
    )
    session.execute(statement, [{"key": key} for key in listing_keys])
