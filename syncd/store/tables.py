"""The state database's tables as typed SQLAlchemy models: the schema Alembic migrates to.

Declares columns only; no queries here (see listings.py, outbox.py, files.py, ...). Any
change to this module needs a new migration in migrations/versions/.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so batch migrations on SQLite can find and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite keeps no time zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the state store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = metadata
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads this class attribute)
        datetime: UtcDateTime(),
        str: String(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class FileOutcome(enum.StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    HELD = "held"


class OpStatus(enum.StrEnum):
    INTENT = "intent"  # committed before the call: a crash leaves a trace
    IN_FLIGHT = "in_flight"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # Hemnet refused; not retried until the listing changes
    UNKNOWN = "unknown"  # may or may not have reached Hemnet: settle by reading back
    SUPERSEDED = "superseded"  # a newer plan replaced it before it ran


class ExportFile(Base):
    """One export file taken from the inbox, and what became of it."""

    __tablename__ = "export_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str]
    # Not unique: a copy of an older export is read again (ingest, _duplicate).
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # 64 bits on PostgreSQL too (SQLite's integers always are): exports may pass 2 GiB.
    size_bytes: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    received_at: Mapped[datetime]
    mapping: Mapped[str | None]
    export_mode: Mapped[str | None]
    outcome: Mapped[str]
    records: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    warnings: Mapped[int] = mapped_column(default=0)
    result_json: Mapped[dict[str, Any] | None]
    archived_path: Mapped[str | None]


class AgencyRow(Base):
    __tablename__ = "agencies"

    key: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    organisation_number: Mapped[str | None]
    hemnet_id: Mapped[str | None] = mapped_column(unique=True)
    updated_at: Mapped[datetime]


# A listing has a desired state when desired_json is neither NULL nor JSON null (what
# mark_missing_rows writes). The partial indexes below carry it as their predicate, and
# store/listings/desired.py's _HAS_DESIRED must stay the same terms with the literal
# 'null' (not a bound parameter): either engine uses a partial index only for a query
# whose WHERE holds its predicate's terms.
HAS_DESIRED_SQLITE = "desired_json IS NOT NULL AND desired_json != 'null'"
HAS_DESIRED_POSTGRESQL = "desired_json IS NOT NULL AND CAST(desired_json AS TEXT) != 'null'"


class ListingRow(Base):
    """A listing: what the CRM wants (desired side) next to what Hemnet has (known side)."""

    __tablename__ = "listings"
    # Partial indexes of the few listings a pass or an ingest looks for among all of them:
    # those missing from a full export (every pass) and those with an error (every
    # ingest clears the skipped ones): without them each is a scan of every listing.
    __table_args__ = (
        Index(
            "ix_listings_missing",
            "listing_key",
            sqlite_where=text("missing_since IS NOT NULL"),
            postgresql_where=text("missing_since IS NOT NULL"),
        ),
        Index(
            "ix_listings_with_error",
            "listing_key",
            sqlite_where=text("last_error IS NOT NULL"),
            postgresql_where=text("last_error IS NOT NULL"),
        ),
        # Which listings have a desired state, and what an unchanged record tells ingest,
        # read from narrow index entries: the condition reads desired_json, so without
        # them each re-drop's two such queries read every wide row (migration 0012_scans).
        Index(
            "ix_listings_desired_agency",
            "agency_key",
            "listing_key",
            sqlite_where=text(HAS_DESIRED_SQLITE),
            postgresql_where=text(HAS_DESIRED_POSTGRESQL),
        ),
        Index(
            "ix_listings_known_record",
            "listing_key",
            "record_fingerprint",
            "agency_key",
            "record_image_hosts",
            sqlite_where=text(f"record_fingerprint IS NOT NULL AND {HAS_DESIRED_SQLITE}"),
            postgresql_where=text(f"record_fingerprint IS NOT NULL AND {HAS_DESIRED_POSTGRESQL}"),
        ),
    )

    listing_key: Mapped[str] = mapped_column(primary_key=True)
    agency_key: Mapped[str] = mapped_column(index=True)
    # desired side
    desired_json: Mapped[dict[str, Any] | None]  # domain.to_plain(Listing); NULL: left the CRM
    content_hash: Mapped[str | None]
    images_hash: Mapped[str | None]
    sale_hash: Mapped[str | None]
    seller_hash: Mapped[str | None]
    billing_hash: Mapped[str | None]
    image_right_hash: Mapped[str | None]
    desired_status: Mapped[str | None]
    source_file_id: Mapped[int | None] = mapped_column(ForeignKey("export_files.id"))
    # The record the desired state was read from (formats/fingerprint.py; NULL: read it again
    # next time) and its image hosts ("host count" lines): an unchanged record is not read.
    record_fingerprint: Mapped[str | None]
    record_image_hosts: Mapped[str | None]
    desired_at: Mapped[datetime | None]
    missing_since: Mapped[datetime | None]
    first_seen_at: Mapped[datetime]
    # known side
    hemnet_id: Mapped[str | None] = mapped_column(unique=True)
    sent_json: Mapped[dict[str, Any] | None]  # the listing as Hemnet last confirmed it
    applied_hash: Mapped[str | None]
    sent_seller_hash: Mapped[str | None]
    sent_billing_hash: Mapped[str | None]
    # The image right last sent (domain.to_plain(ImageRight)); NULL: none sent. Kept whole,
    # not hashed: the planner must know which fields Hemnet holds to clear one (core/plan/).
    sent_image_right_json: Mapped[dict[str, Any] | None]
    is_published: Mapped[bool] = mapped_column(default=False)
    is_approved: Mapped[bool] = mapped_column(default=False)
    market_state: Mapped[str | None]
    allowed_market_states: Mapped[list[Any] | None]
    sold_json: Mapped[dict[str, Any] | None]
    approval_url: Mapped[str | None]
    public_url: Mapped[str | None]
    published_at: Mapped[datetime | None]
    visible_at: Mapped[datetime | None]
    stage: Mapped[str | None] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    failed_hash: Mapped[str | None]  # content hash an op was rejected for: wait for a change
    next_poll_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class ImageRow(Base):
    """One image as Hemnet has it (the desired images live in listings.desired_json)."""

    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("listing_key", "url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_key: Mapped[str] = mapped_column(ForeignKey("listings.listing_key", ondelete="CASCADE"))
    url: Mapped[str]
    hemnet_image_id: Mapped[str | None]
    state: Mapped[str | None]
    state_message: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)
    caption: Mapped[str | None]
    revision: Mapped[str | None]
    is_floor_plan: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class OperationRow(Base):
    """The outbox: one row per op, written before the call and updated with its outcome."""

    __tablename__ = "operations"
    __table_args__ = (Index(None, "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(index=True)
    listing_key: Mapped[str | None] = mapped_column(index=True)
    kind: Mapped[str]
    payload_json: Mapped[dict[str, Any]]
    status: Mapped[str]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    http_status: Mapped[int | None]
    request_id: Mapped[str | None]
    error: Mapped[str | None] = mapped_column(Text)
    outcome_json: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class EventRow(Base):
    """Per-listing history: what happened, when, in words an operator reads."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_key: Mapped[str | None] = mapped_column(index=True)
    at: Mapped[datetime]
    kind: Mapped[str]
    message: Mapped[str] = mapped_column(Text)
    data_json: Mapped[dict[str, Any] | None]


class HoldRow(Base):
    """Removals a guard stopped until an operator releases them."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_key: Mapped[str]
    reason: Mapped[str] = mapped_column(Text)
    listing_keys_json: Mapped[list[Any]]
    export_file_id: Mapped[int | None] = mapped_column(ForeignKey("export_files.id"))
    # listing_key -> the missing_since of the absence held (ISO text): a release covers that
    # absence only. NULL for an empty export's hold, whose listings are not marked missing.
    missing_since_json: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None]
    superseded_at: Mapped[datetime | None]  # closed: the plan no longer asks for it


class ListingChecksRow(Base):
    """Hemnet's checks of a listing as last read (GET /checks): its completeness."""

    __tablename__ = "listing_checks"

    listing_key: Mapped[str] = mapped_column(
        ForeignKey("listings.listing_key", ondelete="CASCADE"), primary_key=True
    )
    errors_json: Mapped[list[Any]]
    warnings_json: Mapped[list[Any]]
    read_for: Mapped[str]  # what the listing was when read: read again when it changes
    read_at: Mapped[datetime]


class MetaRow(Base):
    """Small facts about the installation (Hemnet key id and expiry, ...)."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class RequestRow(Base):
    """An operator's command handed to the running daemon, and the daemon's answer."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str]
    argument: Mapped[str | None]
    requested_by: Mapped[str]
    requested_at: Mapped[datetime]
    done_at: Mapped[datetime | None] = mapped_column(index=True)
    exit_code: Mapped[int | None]
    answer: Mapped[str | None] = mapped_column(Text)


class PlanMarkRow(Base):
    """A listing whose planning facts changed since a pass last planned it (the dirty set).

    Appended, never updated: a pass deletes exactly the marks it read, so a listing marked
    while the pass runs stays marked for the next one.
    """

    __tablename__ = "plan_marks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_key: Mapped[str]
    marked_at: Mapped[datetime]


class StatusMarkRow(Base):
    """A listing one of whose status inputs was written since the status book last built it.

    Written only by the database's triggers (migration 0010_statusbook), in the writer's
    transaction; the book deletes exactly the marks it read once their entries are stored.
    """

    __tablename__ = "status_marks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_key: Mapped[str]


class StatusEntryRow(Base):
    """One listing's status as last built: its texts in status.json and status.csv, and
    what the page, the gauges and the next refresh select it by."""

    __tablename__ = "status_entries"

    listing_key: Mapped[str] = mapped_column(primary_key=True)
    agency_key: Mapped[str] = mapped_column(index=True)
    stage: Mapped[str] = mapped_column(index=True)
    held: Mapped[bool] = mapped_column(index=True)
    pending_ops: Mapped[int] = mapped_column(index=True)
    built_blocked: Mapped[str] = mapped_column(Text)  # the sending block it was built with
    published_at: Mapped[datetime | None]
    # What the page shows beyond the files: {"blockers": [...], "completeness": [...]}
    view_json: Mapped[dict[str, Any]]
    json_text: Mapped[str] = mapped_column(Text)
    csv_line: Mapped[str] = mapped_column(Text)


class InstanceRow(Base):
    """One running daemon of a fleet sharing this store, while its heartbeat lasts."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(primary_key=True)  # hostname:pid:random
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class LeaseRow(Base):
    """Who may act for an agency (or run the fleet-wide jobs), and the fencing token.

    ``token`` grows at every take: an outbox write checks it in its own transaction, so a
    holder that lost the lease (paused, cut off) cannot write after another took over.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(primary_key=True)  # "agency:KEY" or the coordinator's
    holder: Mapped[str | None]  # None: released
    token: Mapped[int]
    expires_at: Mapped[datetime | None]
    taken_at: Mapped[datetime | None]
    renewed_at: Mapped[datetime | None]


class FileClaimRow(Base):
    """An export file being ingested by one instance of a fleet; the others skip it."""

    __tablename__ = "file_claims"

    identity: Mapped[str] = mapped_column(primary_key=True)  # name, size and mtime
    name: Mapped[str]
    holder: Mapped[str]
    claimed_at: Mapped[datetime]
