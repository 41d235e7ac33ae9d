"""Which commits wait for the disk: durable ones (before a call to Hemnet, a file move) only.

SQLite's choice (PRAGMA synchronous per transaction); a PostgreSQL commit is durable always.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from syncd.store.engine import Store


@pytest.fixture
def database(db_path: Path) -> Path:
    """SQLite only: what is checked here are SQLite's pragmas."""
    return db_path


def _synchronous(store: Store, *, durable: bool) -> int:
    with store.transaction(durable=durable) as session:
        return int(session.execute(text("PRAGMA synchronous")).scalar_one())


def test_ordinary_commits_are_normal_and_durable_ones_full(store: Store) -> None:
    assert _synchronous(store, durable=False) == 1  # NORMAL: survives a killed process
    assert _synchronous(store, durable=True) == 2  # FULL: on disk before the commit returns
    # the level is chosen per transaction, not left behind on the pooled connection
    assert _synchronous(store, durable=False) == 1


def test_the_database_is_in_wal_mode(store: Store) -> None:
    with store.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
