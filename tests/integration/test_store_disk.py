"""Refused writes are recognised through SQLAlchemy's wrapping: a real SQLITE_FULL from a
database that may not grow, and a real ENOSPC-like OSError."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError

from syncd.store.disk import disk_failure


def test_a_full_database_is_a_refused_write(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'full.db'}")

    @event.listens_for(engine, "connect")
    def small(connection: sqlite3.Connection, record: object) -> None:
        # The database may not grow past a few pages: SQLite answers SQLITE_FULL.
        connection.execute("PRAGMA max_page_count = 8")

    with pytest.raises(OperationalError) as raised, engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x TEXT)"))
        for _ in range(200):
            conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": "x" * 1000})
    engine.dispose()
    reason = disk_failure(raised.value)
    assert reason is not None and "database or disk is full" in reason


def test_other_database_errors_are_not(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'ok.db'}")
    with pytest.raises(OperationalError) as raised, engine.begin() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    engine.dispose()
    assert disk_failure(raised.value) is None
    assert disk_failure(ValueError("no")) is None


def test_a_read_only_file_system_names_the_file() -> None:
    error = OSError(30, "Read-only file system", "/var/lib/syncd/status.json")
    wrapped = RuntimeError("while writing status")
    wrapped.__cause__ = error
    assert disk_failure(wrapped) == "Read-only file system: /var/lib/syncd/status.json"
