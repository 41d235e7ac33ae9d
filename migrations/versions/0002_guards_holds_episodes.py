"""Holds name the removal they stopped; the same bytes may be taken more than once.

A hold records each held listing's ``missing_since`` (the absence it stopped), so that a
release covers that absence only and ends when the listing comes back; a hold the plan no
longer asks for is closed as superseded. export_files.sha256 stops being unique: a copy
of an older export is read again (only a copy of the latest one is a duplicate).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 15:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("missing_since_json", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("superseded_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("export_files", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_export_files_sha256"), type_="unique")
        batch_op.create_index(batch_op.f("ix_export_files_sha256"), ["sha256"], unique=False)
    # Holds made before this revision say nothing of the absence they stopped. A released
    # one covered its keys forever (the bug this revision fixes): it now covers nothing, and
    # a removal it let through that has not happened yet is held again for a fresh release.
    # An open one is closed: the next plan holds again what still needs holding.
    # Datetimes are naive UTC: PostgreSQL's CURRENT_TIMESTAMP would be cast to the server's
    # local time zone, SQLite's is UTC already.
    postgres = op.get_bind().dialect.name == "postgresql"
    now = "timezone('UTC', CURRENT_TIMESTAMP)" if postgres else "CURRENT_TIMESTAMP"
    op.execute(
        f"UPDATE holds SET superseded_at = {now} "
        "WHERE released_at IS NULL AND export_file_id IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("export_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_files_sha256"))
    # Keep the newest row of each sha256 (the unique constraint cannot hold otherwise); what
    # pointed at an older row of the same bytes points at the kept one.
    for table, column in (("holds", "export_file_id"), ("listings", "source_file_id")):
        op.execute(
            f"UPDATE {table} SET {column} = (SELECT MAX(newer.id) FROM export_files AS newer "
            f"JOIN export_files AS older ON older.sha256 = newer.sha256 "
            f"WHERE older.id = {table}.{column}) WHERE {column} IS NOT NULL"
        )
    op.execute(
        "DELETE FROM export_files "
        "WHERE id NOT IN (SELECT MAX(id) FROM export_files GROUP BY sha256)"
    )
    with op.batch_alter_table("export_files", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_export_files_sha256"), ["sha256"])
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_column("superseded_at")
        batch_op.drop_column("missing_since_json")
