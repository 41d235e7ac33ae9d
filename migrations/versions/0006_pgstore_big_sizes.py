"""Export file sizes as 64-bit integers on PostgreSQL, as SQLite's INTEGER always is.

PostgreSQL's INTEGER is 32 bits: an export of 2 GiB or more could not be recorded there.
SQLite needs nothing (its integers are 64 bits whatever the declared type), so it is not
touched: no table copy for a change that changes nothing.

Revision ID: 0006_pgstore
Revises: 0005_rights
Create Date: 2026-12-05 18:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_pgstore"
down_revision: str | Sequence[str] | None = "0005_rights"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _postgres():
        op.alter_column("export_files", "size_bytes", type_=sa.BigInteger())


def downgrade() -> None:
    if _postgres():
        op.alter_column("export_files", "size_bytes", type_=sa.Integer())
