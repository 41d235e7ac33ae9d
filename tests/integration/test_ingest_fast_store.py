"""Ingest's batch writes (listing upsert, event insert) go to the driver as plain tuples:
they must store exactly what the SQLAlchemy statements they replaced stored, byte for byte."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, Text, bindparam, insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from syncd.store.engine import Store, open_store
from syncd.store.events import NewEvent, record_events
from syncd.store.listings import DesiredRow, mark_missing_rows, save_desired_rows
from syncd.store.tables import EventRow, ListingRow

_LISTINGS = cast(Table, ListingRow.__table__)
_UPSERTED = (
    "agency_key",
    "desired_json",
    "content_hash",
    "images_hash",
    "sale_hash",
    "seller_hash",
    "billing_hash",
    "image_right_hash",
    "desired_status",
    "source_file_id",
    "desired_at",
    "missing_since",
    "updated_at",
)
FIRST = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
LATER = datetime(2026, 3, 2, 7, 0, 0, tzinfo=UTC)


def _reference_save(
    session: Session, rows: Sequence[DesiredRow], now: datetime, source_file_id: int | None
) -> None:
    """save_desired_rows as it was written with SQLAlchemy Core (the behaviour to keep)."""
    statement = sqlite_insert(_LISTINGS).values(
        desired_json=bindparam("desired_json_text", type_=Text())
    )
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[_LISTINGS.c.listing_key],
        set_={name: excluded[name] for name in _UPSERTED},
    )
    session.execute(
        statement,
        [
            {
                "listing_key": row.listing_key,
                "agency_key": row.agency_key,
                "desired_json_text": row.desired_json,
                "content_hash": row.hashes[0],
                "images_hash": row.hashes[1],
                "sale_hash": row.hashes[2],
                "seller_hash": row.hashes[3],
                "billing_hash": row.hashes[4],
                "image_right_hash": row.hashes[5],
                "desired_status": row.desired_status,
                "source_file_id": source_file_id,
                "desired_at": now,
                "missing_since": None,
                "first_seen_at": now,
                "updated_at": now,
            }
            for row in rows
        ],
    )


def _reference_events(session: Session, new_events: Sequence[NewEvent], now: datetime) -> None:
    session.execute(
        insert(cast(Table, EventRow.__table__)),
        [
            {
                "listing_key": event.listing_key,
                "at": now,
                "kind": event.kind,
                "message": event.message,
                "data_json": event.data,
            }
            for event in new_events
        ],
    )


def _rows(db: Path, table: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(db)
    try:
        # typeof() too: 0 and '0', or a text and a blob, must not pass as the same.
        columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
        typed = ", ".join(f"{name}, typeof({name})" for name in columns)
        return connection.execute(f"SELECT {typed} FROM {table} ORDER BY rowid").fetchall()
    finally:
        connection.close()


def _twin(db_path: Path) -> Path:
    twin = db_path.with_name("reference.db")
    shutil.copyfile(db_path, twin)
    return twin


def _desired(key: str, *, status: str = "for_sale", hashes: Any = None) -> DesiredRow:
    return DesiredRow(
        listing_key=key,
        agency_key="agency-1",
        desired_status=status,
        hashes=hashes or (f"c-{key}", f"i-{key}", None, f"s-{key}", None, f"r-{key}"),
        desired_json='{"street":"Östra gatan 1","note":"it\'s \\"quoted\\""}',
    )


def _scenario(store: Store, save: Any, events: Any) -> None:
    with store.transaction() as session:
        save(session, [_desired("A"), _desired("B"), _desired("C", status="coming")], FIRST, None)
        events(
            session,
            [
                NewEvent("desired_changed", "new listing A", listing_key="A", data={"file": "x"}),
                NewEvent("export_held", "no key", data=None),
                NewEvent("desired_changed", "new listing B", listing_key="B", data={"n": 1}),
            ],
            FIRST,
        )
    with store.transaction() as session:
        # The known side and a missing mark: an update must leave the one, clear the other.
        session.connection().exec_driver_sql(
            "UPDATE listings SET hemnet_id = 'h-1', is_published = TRUE WHERE listing_key = 'A'"
        )
        mark_missing_rows(session, ["B"], FIRST)
    with store.transaction() as session:
        changed = [
            _desired("A", status="sold", hashes=("c2", "i2", "sale2", None, "b2", None)),
            _desired("B"),
            _desired("D"),
        ]
        save(session, changed, LATER, None)
        shared = {"file": "y.xml"}
        events(
            session,
            [NewEvent("missing", f"gone {key}", listing_key=key, data=shared) for key in "AB"]
            + [NewEvent("missing", "last", listing_key="D", data={"file": "y.xml", "k": [1]})],
            LATER,
        )


def test_batch_writes_store_what_the_sqlalchemy_statements_stored(db_path: Path) -> None:
    reference_path = _twin(db_path)
    fast, reference = open_store(db_path), open_store(reference_path)
    try:
        _scenario(fast, save_desired_rows, record_events)
        _scenario(reference, _reference_save, _reference_events)
    finally:
        fast.close()
        reference.close()
    listings = _rows(db_path, "listings")
    assert len(listings) == 4
    assert listings == _rows(reference_path, "listings")
    events = _rows(db_path, "events")
    assert len(events) == 6
    assert events == _rows(reference_path, "events")


def test_update_keeps_first_seen_and_known_side(store: Store) -> None:
    _scenario(store, save_desired_rows, record_events)
    with store.read() as session:
        rows = {row.listing_key: row for row in session.query(ListingRow)}
    a = rows["A"]
    found = (a.first_seen_at, a.desired_at, a.hemnet_id, a.is_published, a.missing_since)
    assert found == (FIRST, LATER, "h-1", True, None)
    assert a.desired_status == "sold"
    missing = (rows["B"].missing_since,)
    assert missing == (None,)  # back in the export: no longer missing
