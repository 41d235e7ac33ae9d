"""Plan marks: the listings a pass must plan because something about them changed.

Revision ID: 0008_dirtyset
Revises: 0007_ingestfast
Create Date: 2026-12-05 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_dirtyset"
down_revision: str | Sequence[str] | None = "0007_ingestfast"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_key", sa.String(), nullable=False),
        sa.Column("marked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_marks")),
    )


def downgrade() -> None:
    op.drop_table("plan_marks")
