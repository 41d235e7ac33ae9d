"""listing_checks: Hemnet's checks of each listing as last read (its completeness).

Revision ID: 0004_intake
Revises: 0003
Create Date: 2026-12-05 15:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_intake"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "listing_checks",
        sa.Column("listing_key", sa.String(), nullable=False),
        sa.Column("errors_json", sa.JSON(), nullable=False),
        sa.Column("warnings_json", sa.JSON(), nullable=False),
        sa.Column("read_for", sa.String(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_key"],
            ["listings.listing_key"],
            name=op.f("fk_listing_checks_listing_key_listings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("listing_key", name=op.f("pk_listing_checks")),
    )


def downgrade() -> None:
    op.drop_table("listing_checks")
