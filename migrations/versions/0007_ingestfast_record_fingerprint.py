"""Records read once: the fingerprint of the record a listing's desired state was last read
from, and the image hosts it named, so ingest takes an unchanged record without reading it.

NULL (every listing before this revision): the next export reads the record in full, finds
the desired state unchanged (its hashes are made as before) and stores the fingerprint.

Revision ID: 0007_ingestfast
Revises: 0006_pgstore
Create Date: 2026-12-05 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_ingestfast"
down_revision: str | Sequence[str] | None = "0006_pgstore"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("record_fingerprint", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("record_image_hosts", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.drop_column("record_image_hosts")
        batch_op.drop_column("record_fingerprint")
