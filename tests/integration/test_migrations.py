"""Migrations: upgrade creates the schema at head, the models match it, and down/up works."""

from __future__ import annotations

import logging
import sqlite3
import stat
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from syncd.config import bundled_migrations_dir
from syncd.core.errors import StateError
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
    "requests",
    "plan_marks",
    "instances",
    "leases",
    "file_claims",
    "status_marks",
    "status_entries",
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


def test_a_new_database_is_private_and_an_old_readable_one_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "state" / "syncd.db"
    migrate.upgrade(db)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    with caplog.at_level(logging.WARNING), open_store(db):
        pass
    assert "readable by other users" not in caplog.text
    db.chmod(0o644)  # as an older syncd created it
    with caplog.at_level(logging.WARNING), open_store(db):
        pass
    assert f"state database {db} is readable by other users (mode 0644)" in caplog.text
    assert stat.S_IMODE(db.stat().st_mode) == 0o644  # warned about, not changed


def test_models_match_the_migrations(db_path: Path) -> None:
    engine = create_sqlite_engine(db_path, foreign_keys=False)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            cfg = migrate.alembic_config()
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


def test_0002_closes_old_holds_and_its_downgrade_keeps_one_row_per_sha256(tmp_path: Path) -> None:
    db = tmp_path / "syncd.db"
    migrate.upgrade(db, "0001")
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO holds (agency_key, reason, listing_keys_json, created_at, released_at) "
            "VALUES ('ag', 'open', '[\"A\"]', '2026-01-01 00:00:00', NULL), "
            "('ag', 'released', '[\"B\"]', '2026-01-01 00:00:00', '2026-01-02 00:00:00')"
        )
    migrate.upgrade(db)
    with sqlite3.connect(db) as conn:
        holds = conn.execute(
            "SELECT reason, superseded_at IS NOT NULL, missing_since_json FROM holds ORDER BY id"
        ).fetchall()
        # Neither says which absence it held: the open one lapses, the released covers none.
        assert holds == [("open", 1, None), ("released", 0, None)]
        for n in (1, 2):
            conn.execute(
                "INSERT INTO export_files (id, name, sha256, size_bytes, received_at, outcome, "
                "records, accepted, skipped, warnings) "
                f"VALUES ({n}, 'f{n}.csv', 'same', 1, '2026-01-0{n} 00:00:00', 'accepted', "
                "0, 0, 0, 0)"
            )
        conn.execute("UPDATE holds SET export_file_id = 1")
    migrate.downgrade(db, "0001")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT id FROM export_files").fetchall() == [(2,)]
        assert {r for (r,) in conn.execute("SELECT export_file_id FROM holds")} == {2}
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            conn.execute(
                "INSERT INTO export_files (name, sha256, size_bytes, received_at, outcome, "
                "records, accepted, skipped, warnings) "
                "VALUES ('f3.csv', 'same', 1, '2026-01-03 00:00:00', 'accepted', 0, 0, 0, 0)"
            )


# Listing columns that are not status inputs: writing only these must mark nothing (see
# 0010_statusbook). A new listings column is either named in the status trigger (a later
# migration recreates it) or here, decided, never forgotten.
NOT_STATUS_INPUTS = {
    "listing_key",
    "next_poll_at",
    "record_fingerprint",
    "record_image_hosts",
    "stage",
}


def test_the_status_triggers_at_head_mark_every_status_input(db_path: Path) -> None:
    # A SQLite batch migration that recreates one of these tables drops its triggers
    # silently: the status files would then stop following those writes.
    with sqlite3.connect(db_path) as conn:
        triggers = dict(
            conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        )
        columns = {row[1] for row in conn.execute("PRAGMA table_info(listings)")}
    expected = {
        f"status_mark_{table}_{event}"
        for table in ("listings", "images", "operations", "listing_checks")
        for event in ("insert", "update", "delete")
    }
    assert expected <= set(triggers), sorted(expected - set(triggers))
    update = triggers["status_mark_listings_update"]
    named = update.split(" OF ", 1)[1].split(" ON ", 1)[0]
    marking = {column.strip() for column in named.split(",")}
    assert marking | NOT_STATUS_INPUTS == columns, sorted(columns - marking - NOT_STATUS_INPUTS)
    assert not marking & NOT_STATUS_INPUTS


def test_0013_marks_the_listings_that_left_the_crm_before_they_reached_hemnet(
    tmp_path: Path,
) -> None:
    # Their stored status entries said "new" (syncd creates it on the next run); their
    # stage is unpublished now, and only a mark makes the book build them again.
    db = tmp_path / "syncd.db"
    migrate.upgrade(db, "0012_scans")
    with sqlite3.connect(db) as conn:
        for key, desired, hemnet_id in [
            ("GONE", None, None),
            ("GONE-JSON", "null", None),
            ("WANTED", '{"listing_key": "WANTED"}', None),
            ("SENT-GONE", None, "h1"),
        ]:
            conn.execute(
                "INSERT INTO listings (listing_key, agency_key, desired_json, hemnet_id, "
                "is_published, is_approved, first_seen_at, updated_at) "
                "VALUES (?, 'ag', ?, ?, 0, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                (key, desired, hemnet_id),
            )
        conn.execute("DELETE FROM status_marks")
    migrate.upgrade(db)
    with sqlite3.connect(db) as conn:
        marked = {key for (key,) in conn.execute("SELECT listing_key FROM status_marks")}
    assert marked == {"GONE", "GONE-JSON"}
