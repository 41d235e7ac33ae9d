"""Status marks for the listings that left the CRM before they reached Hemnet: their stage
is now ``unpublished``, no longer ``new`` (which says syncd creates them on the next run;
core/stages.py), so the status book builds their stored entries again.

Revision ID: 0013_unsent
Revises: 0012_scans
Create Date: 2026-12-06 05:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_unsent"
down_revision: str | Sequence[str] | None = "0012_scans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As tables.py has them at this revision (a migration keeps its own copy): no desired state.
_NO_DESIRED = {
    "sqlite": "desired_json IS NULL OR desired_json = 'null'",
    "postgresql": "desired_json IS NULL OR CAST(desired_json AS TEXT) = 'null'",
}


def upgrade() -> None:
    no_desired = _NO_DESIRED[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO status_marks (listing_key) SELECT listing_key FROM listings "
        f"WHERE hemnet_id IS NULL AND ({no_desired})"
    )


def downgrade() -> None:
    # Marks only make the book build a listing again: nothing to take back.
    pass
