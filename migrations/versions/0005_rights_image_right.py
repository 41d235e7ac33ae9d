"""Image rights: the desired right's hash (ingest sees a change) and the right last sent.

Revision ID: 0005_rights
Revises: 0004_intake
Create Date: 2026-12-05 16:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_rights"
down_revision: str | Sequence[str] | None = "0004_intake"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_right_hash", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("sent_image_right_json", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.drop_column("sent_image_right_json")
        batch_op.drop_column("image_right_hash")
