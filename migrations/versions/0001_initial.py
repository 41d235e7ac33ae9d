"""Initial schema: every table of the state store.

Datetimes are stored as naive UTC (syncd.store.tables.UtcDateTime adds the zone back).

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-27 07:31:08.981987
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("organisation_number", sa.String(), nullable=True),
        sa.Column("hemnet_id", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_agencies")),
        sa.UniqueConstraint("hemnet_id", name=op.f("uq_agencies_hemnet_id")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_key", sa.String(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data_json", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_listing_key"), ["listing_key"], unique=False)

    op.create_table(
        "export_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("mapping", sa.String(), nullable=True),
        sa.Column("export_mode", sa.String(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("result_json", sa.JSON(), nullable=True),
        sa.Column("archived_path", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_files")),
        sa.UniqueConstraint("sha256", name=op.f("uq_export_files_sha256")),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_meta")),
    )
    op.create_table(
        "operations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("listing_key", sa.String(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("payload_json", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("outcome_json", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operations")),
    )
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operations_idempotency_key"), ["idempotency_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_operations_listing_key"), ["listing_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_operations_status"), ["status"], unique=False)

    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_key", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("listing_keys_json", sa.JSON(), nullable=False),
        sa.Column("export_file_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("released_by", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["export_file_id"],
            ["export_files.id"],
            name=op.f("fk_holds_export_file_id_export_files"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    op.create_table(
        "listings",
        sa.Column("listing_key", sa.String(), nullable=False),
        sa.Column("agency_key", sa.String(), nullable=False),
        sa.Column("desired_json", sa.JSON(), nullable=True),
        sa.Column("content_hash", sa.String(), nullable=True),
        sa.Column("images_hash", sa.String(), nullable=True),
        sa.Column("sale_hash", sa.String(), nullable=True),
        sa.Column("seller_hash", sa.String(), nullable=True),
        sa.Column("billing_hash", sa.String(), nullable=True),
        sa.Column("desired_status", sa.String(), nullable=True),
        sa.Column("source_file_id", sa.Integer(), nullable=True),
        sa.Column("desired_at", sa.DateTime(), nullable=True),
        sa.Column("missing_since", sa.DateTime(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("hemnet_id", sa.String(), nullable=True),
        sa.Column("sent_json", sa.JSON(), nullable=True),
        sa.Column("applied_hash", sa.String(), nullable=True),
        sa.Column("sent_seller_hash", sa.String(), nullable=True),
        sa.Column("sent_billing_hash", sa.String(), nullable=True),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        sa.Column("is_approved", sa.Boolean(), nullable=False),
        sa.Column("market_state", sa.String(), nullable=True),
        sa.Column("allowed_market_states", sa.JSON(), nullable=True),
        sa.Column("sold_json", sa.JSON(), nullable=True),
        sa.Column("approval_url", sa.String(), nullable=True),
        sa.Column("public_url", sa.String(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("visible_at", sa.DateTime(), nullable=True),
        sa.Column("stage", sa.String(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failed_hash", sa.String(), nullable=True),
        sa.Column("next_poll_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_file_id"],
            ["export_files.id"],
            name=op.f("fk_listings_source_file_id_export_files"),
        ),
        sa.PrimaryKeyConstraint("listing_key", name=op.f("pk_listings")),
        sa.UniqueConstraint("hemnet_id", name=op.f("uq_listings_hemnet_id")),
    )
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_listings_agency_key"), ["agency_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_listings_stage"), ["stage"], unique=False)

    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_key", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("hemnet_image_id", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=True),
        sa.Column("state_message", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("caption", sa.String(), nullable=True),
        sa.Column("revision", sa.String(), nullable=True),
        sa.Column("is_floor_plan", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_key"],
            ["listings.listing_key"],
            name=op.f("fk_images_listing_key_listings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_images")),
        sa.UniqueConstraint("listing_key", "url", name=op.f("uq_images_listing_key_url")),
    )


def downgrade() -> None:
    op.drop_table("images")
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listings_stage"))
        batch_op.drop_index(batch_op.f("ix_listings_agency_key"))

    op.drop_table("listings")
    op.drop_table("holds")
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operations_status"))
        batch_op.drop_index(batch_op.f("ix_operations_listing_key"))
        batch_op.drop_index(batch_op.f("ix_operations_idempotency_key"))

    op.drop_table("operations")
    op.drop_table("meta")
    op.drop_table("export_files")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_listing_key"))

    op.drop_table("events")
    op.drop_table("agencies")
