"""Partial indexes of the listings that have a desired state: which keys an agency has
(a full export's removals) and the record each was last read from (an unchanged record
is not read again). The condition reads desired_json, so without them each re-drop reads
every wide listing row twice.

Revision ID: 0012_scans
Revises: 0011_dropfast
Create Date: 2026-12-05 21:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_scans"
down_revision: str | Sequence[str] | None = "0011_dropfast"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As tables.py has them at this revision (a migration keeps its own copy).
_SQLITE = "desired_json IS NOT NULL AND desired_json != 'null'"
_POSTGRESQL = "desired_json IS NOT NULL AND CAST(desired_json AS TEXT) != 'null'"
_INDEXES: dict[str, tuple[list[str], str]] = {
    "ix_listings_desired_agency": (["agency_key", "listing_key"], ""),
    "ix_listings_known_record": (
        ["listing_key", "record_fingerprint", "agency_key", "record_image_hosts"],
        "record_fingerprint IS NOT NULL AND ",
    ),
}


def upgrade() -> None:
    for name, (columns, also) in _INDEXES.items():
        op.create_index(
            name,
            "listings",
            columns,
            sqlite_where=sa.text(also + _SQLITE),
            postgresql_where=sa.text(also + _POSTGRESQL),
        )


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="listings")
