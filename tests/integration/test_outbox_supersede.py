"""Superseding the intents a new plan no longer asks for, at the size of a big first plan."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from syncd.core.ops import PublishListing
from syncd.store import outbox
from syncd.store.engine import Store
from syncd.store.tables import OperationRow, OpStatus


def test_intents_not_kept_are_superseded_even_when_tens_of_thousands_are_kept(
    store: Store, now: datetime
) -> None:
    with store.transaction() as session:
        kept = outbox.add_operation(session, PublishListing("A1"), now).id
        dropped = outbox.add_operation(session, PublishListing("A2"), now).id
        flying = outbox.add_operation(session, PublishListing("A3"), now).id
        outbox.mark_in_flight(session, flying, now)
    # A first plan over 11,000 listings keeps over 33,000 ops: more ids than SQLite binds
    # in one statement by default (32,766; this Python's build allows more, so the test
    # sets the default; PostgreSQL's own limit is 65,535). Ids of ops not stored are
    # harmless here.
    keep = [kept, *range(1_000_000, 1_070_000)]
    with store.transaction() as session:
        raw = session.connection().connection.dbapi_connection
        if isinstance(raw, sqlite3.Connection):
            raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32_766)
        assert outbox.supersede_intents_except(session, keep, now) == 1
    with store.read() as session:
        status = {row.id: row.status for row in session.query(OperationRow)}
    assert status[kept] == OpStatus.INTENT.value
    assert status[dropped] == OpStatus.SUPERSEDED.value
    assert status[flying] == OpStatus.IN_FLIGHT.value  # in flight: settled, never dropped
