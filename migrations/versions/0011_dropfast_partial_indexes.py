"""Partial indexes of the listings a pass or an ingest looks for among all of them: those
missing from a full export (every pass reads them) and those with an error (every ingest
clears the skipped ones). Without them each is a scan of every listing row.

Revision ID: 0011_dropfast
Revises: 0010_statusbook
Create Date: 2026-12-05 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_dropfast"
down_revision: str | Sequence[str] | None = "0010_statusbook"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "ix_listings_missing": "missing_since IS NOT NULL",
    "ix_listings_with_error": "last_error IS NOT NULL",
}


def upgrade() -> None:
    for name, where in _INDEXES.items():
        op.create_index(
            name,
            "listings",
            ["listing_key"],
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="listings")
