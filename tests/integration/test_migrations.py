"""Migrations: upgrade creates the schema at head, the models match it, and down/up works."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from syncd.config import bundled_migrations_dir
from syncd.errors import StateError
from syncd.store import migrate
from syncd.store.engine import open_store
from syncd.store.sqlite import create_sqlite_engine
from syncd.store.tables import metadata

TABLES = {
    "export_files",
    "agencies",
    "listings",
    "images",
    "operations",
    "events",
    "holds",
    "meta",
    "listing_checks",
}


def table_names(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows} - {"alembic_version"}


def test_upgrade_creates_every_table_at_head_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "new" / "syncd.db"
    assert migrate.current(db) is None
    assert not db.exists()  # asking for the revision must not create the file
    migrate.upgrade(db)
    assert migrate.current(db) == migrate.head()
    assert table_names(db) == TABLES
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_models_match_the_migrations(db_path: Path) -> None:
    engine = create_sqlite_engine(db_path, foreign_keys=False)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            cfg = migrate.alembic_config(db_path)
            cfg.attributes["connection"] = conn
            command.check(cfg)  # raises when autogenerate would write a migration
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(db_path: Path) -> None:
    migrate.downgrade(db_path, "base")
    assert migrate.current(db_path) is None
    assert table_names(db_path) == set()
    migrate.upgrade(db_path)
    assert migrate.current(db_path) == migrate.head()
    assert table_names(db_path) == TABLES


def test_the_bundled_migrations_are_the_default() -> None:
    location = migrate.alembic_config().get_main_option("script_location")
    assert location == str(bundled_migrations_dir())
    assert (bundled_migrations_dir() / "env.py").is_file()
    assert migrate.head() == migrate.head(bundled_migrations_dir())


def test_open_store_refuses_a_missing_database(tmp_path: Path) -> None:
    db = tmp_path / "absent.db"
    with pytest.raises(StateError, match="run 'syncd db upgrade'") as caught:
        open_store(db)
    assert str(db) in str(caught.value)
    assert not db.exists()


def test_open_store_refuses_a_database_behind_head(db_path: Path) -> None:
    migrate.downgrade(db_path, "base")
    with pytest.raises(StateError) as caught:
        open_store(db_path)
    message = str(caught.value)
    assert f"database at {db_path} is at revision none, head is {migrate.head()}" in message
    assert "run 'syncd db upgrade'" in message
    assert caught.value.exit_code == 3


def test_open_store_refuses_a_database_from_a_newer_syncd(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StateError, match="revision 9999, which this syncd does not know") as caught:
        open_store(db_path)
    assert "newer syncd" in caught.value.remedy or "syncd version" in caught.value.remedy


def test_open_store_accepts_a_database_at_head(db_path: Path) -> None:
    with open_store(db_path) as store:
        assert store.path == db_path
