"""Status marks and status entries: the status files and page kept proportional to the change.

Triggers mark a listing in ``status_marks`` whenever a status input of it is written
(its row, its images, its operations, its checks), in the writer's own transaction and
whatever the writing code (ORM or plain SQL): the status book rebuilds only marked
listings. ``status_entries`` keeps each listing's built texts, so the status files are
streamed from the store. Every listing already stored is marked once here.

A later migration that recreates one of the four tables (SQLite batch mode) must create
these triggers again (``STATUS_TRIGGERS`` below lists them).

Revision ID: 0010_statusbook
Revises: 0009_fleet
Create Date: 2026-12-05 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_statusbook"
down_revision: str | Sequence[str] | None = "0009_fleet"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Listing columns no status row is built from: writing only these marks nothing (the book
# stores the stage itself; a record's fingerprint and a poll time change no row).
_LISTING_INPUTS = (
    "agency_key, desired_json, content_hash, images_hash, sale_hash, seller_hash, "
    "billing_hash, image_right_hash, desired_status, source_file_id, desired_at, "
    "missing_since, first_seen_at, hemnet_id, sent_json, applied_hash, sent_seller_hash, "
    "sent_billing_hash, sent_image_right_json, is_published, is_approved, market_state, "
    "allowed_market_states, sold_json, approval_url, public_url, published_at, visible_at, "
    "last_error, failed_hash, updated_at"
)
# (table, what an update of it must touch to mark: None for any column)
STATUS_TRIGGERS = (
    ("listings", _LISTING_INPUTS),
    ("images", None),
    ("operations", "listing_key, status"),
    ("listing_checks", None),
)


def _sqlite_triggers(table: str, columns: str | None) -> list[str]:
    mark = "INSERT INTO status_marks (listing_key) VALUES ({row}.listing_key)"
    only = "WHEN {row}.listing_key IS NOT NULL"
    of = f" OF {columns}" if columns else ""
    made = []
    for event, row in (("INSERT", "NEW"), (f"UPDATE{of}", "NEW"), ("DELETE", "OLD")):
        name = f"status_mark_{table}_{event.split()[0].lower()}"
        made.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW "
            f"{only.format(row=row)} BEGIN {mark.format(row=row)}; END"
        )
    return made


_PG_FUNCTION = """
CREATE FUNCTION status_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.listing_key IS NOT NULL THEN
            INSERT INTO status_marks (listing_key) VALUES (OLD.listing_key);
        END IF;
        RETURN OLD;
    END IF;
    IF NEW.listing_key IS NOT NULL THEN
        INSERT INTO status_marks (listing_key) VALUES (NEW.listing_key);
    END IF;
    RETURN NEW;
END
$$
"""


def _pg_triggers(table: str, columns: str | None) -> list[str]:
    of = f" OF {columns}" if columns else ""
    run = "FOR EACH ROW EXECUTE FUNCTION status_mark()"
    return [
        f"CREATE TRIGGER status_mark_{table}_change AFTER INSERT OR DELETE ON {table} {run}",
        f"CREATE TRIGGER status_mark_{table}_update AFTER UPDATE{of} ON {table} {run}",
    ]


def upgrade() -> None:
    op.create_table(
        "status_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_key", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_marks")),
    )
    op.create_table(
        "status_entries",
        sa.Column("listing_key", sa.String(), nullable=False),
        sa.Column("agency_key", sa.String(), nullable=False),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("pending_ops", sa.Integer(), nullable=False),
        sa.Column("built_blocked", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("view_json", sa.JSON(), nullable=False),
        sa.Column("json_text", sa.Text(), nullable=False),
        sa.Column("csv_line", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("listing_key", name=op.f("pk_status_entries")),
    )
    op.create_index(
        op.f("ix_status_entries_agency_key"), "status_entries", ["agency_key"], unique=False
    )
    op.create_index(op.f("ix_status_entries_stage"), "status_entries", ["stage"], unique=False)
    op.create_index(
        op.f("ix_status_entries_pending_ops"), "status_entries", ["pending_ops"], unique=False
    )
    op.create_index(op.f("ix_status_entries_held"), "status_entries", ["held"], unique=False)
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(_PG_FUNCTION)
    for table, columns in STATUS_TRIGGERS:
        for statement in (_pg_triggers if postgres else _sqlite_triggers)(table, columns):
            op.execute(statement)
    op.execute("INSERT INTO status_marks (listing_key) SELECT listing_key FROM listings")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, _ in STATUS_TRIGGERS:
        if postgres:
            for suffix in ("change", "update"):
                op.execute(f"DROP TRIGGER status_mark_{table}_{suffix} ON {table}")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER status_mark_{table}_{event}")
    if postgres:
        op.execute("DROP FUNCTION status_mark()")
    op.drop_index(op.f("ix_status_entries_held"), table_name="status_entries")
    op.drop_index(op.f("ix_status_entries_pending_ops"), table_name="status_entries")
    op.drop_index(op.f("ix_status_entries_stage"), table_name="status_entries")
    op.drop_index(op.f("ix_status_entries_agency_key"), table_name="status_entries")
    op.drop_table("status_entries")
    op.drop_table("status_marks")
