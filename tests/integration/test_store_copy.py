"""'syncd db copy': every row from a SQLite store into a new PostgreSQL one, nothing lost or
changed; refused beside a running daemon and into a store that holds anything."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, select

from syncd.core.errors import AlreadyRunningError, StateError
from syncd.core.ops import PublishListing
from syncd.store import holds, outbox, requests
from syncd.store.copy import DERIVED_TABLES, copy_state
from syncd.store.engine import Store, open_store
from syncd.store.events import record_event
from syncd.store.location import Database
from syncd.store.lock import DAEMON, take_lock
from syncd.store.portable import json_text
from syncd.store.tables import OperationRow, StatusMarkRow, metadata
from tests.fakes.status_listings import seed_listings


@pytest.fixture
def database(db_path: Path) -> Path:
    """The source: SQLite, as a running installation's state is before it moves."""
    return db_path


def _everything(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, JSON as its stored text (SQL NULL and JSON null differ)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with open_store(database) as store, store.read() as session:
        for table in metadata.sorted_tables:
            if table.name in DERIVED_TABLES:
                continue  # the status book's: the target's triggers mark every listing
            columns = [
                json_text(c).label(c.name) if isinstance(c.type, JSON) else c for c in table.columns
            ]
            query = select(*columns).order_by(*table.primary_key.columns)
            out[table.name] = [tuple(row) for row in session.execute(query)]
    return out


def _seed(store: Store, now: datetime) -> None:
    seed_listings(store, now)
    with store.transaction() as session:
        flying = outbox.add_operation(session, PublishListing("A05"), now).id
        outbox.mark_in_flight(session, flying, now)  # an intent whose call may have happened
        holds.add_hold(session, "ag", "empty", ["A01"], now)
        record_event(session, "note", "no data", now, listing_key="A01", data=None)
        requests.add_request(session, "sync", None, "tester", now)


def test_every_row_arrives_as_it_was_and_ids_continue(
    store: Store, db_path: Path, pg_url: str, now: datetime
) -> None:
    _seed(store, now)
    store.close()
    before = _everything(db_path)
    assert before["operations"] and before["events"] and before["holds"]

    copied = copy_state(db_path, pg_url)

    assert dict(copied.rows) == {name: len(rows) for name, rows in before.items()}
    assert _everything(pg_url) == before
    with open_store(pg_url) as target, target.transaction() as session:
        newest = max(row[0] for row in before["operations"])
        added = outbox.add_operation(session, PublishListing("A06"), now)
        assert added.id == newest + 1  # the sequence continues after the copied ids
        statuses = set(session.scalars(select(OperationRow.status)))
    assert {"intent", "in_flight"} <= statuses
    with open_store(pg_url) as target, target.read() as session:
        marked = set(session.scalars(select(StatusMarkRow.listing_key)))
    assert marked == {row[0] for row in before["listings"]}  # its first refresh builds all


def test_a_target_that_holds_anything_is_refused(
    store: Store, db_path: Path, pg_url: str, now: datetime
) -> None:
    _seed(store, now)
    store.close()
    copy_state(db_path, pg_url)
    with pytest.raises(StateError, match="is not empty"):
        copy_state(db_path, pg_url)


def test_the_copy_is_refused_while_the_daemon_holds_the_state(db_path: Path, pg_url: str) -> None:
    with take_lock(db_path, DAEMON), pytest.raises(AlreadyRunningError) as refused:
        copy_state(db_path, pg_url)
    assert "'syncd run'" in str(refused.value)
    assert "stop the daemon first" in refused.value.remedy
    assert _everything(pg_url)["listings"] == []  # nothing written
