"""The re-drop's "which listings have a desired state" queries (``known_records``,
``keys_with_desired``) are answered by the partial indexes ix_listings_known_record and
ix_listings_desired_agency, not by reading every wide listing row, on both engines; and
they answer exactly what the condition says, whatever mix of rows the store holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Select, select, text, update
from sqlalchemy.orm import Session

from syncd.store.engine import Store
from syncd.store.listings import (
    DesiredRow,
    keys_with_desired,
    known_records,
    mark_missing_rows,
    save_desired_rows,
)
from syncd.store.listings import desired as desired_module
from syncd.store.tables import ListingRow

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
FINGERPRINT = "ab" * 32


def _row(key: str, agency: str, fingerprint: str | None) -> DesiredRow:
    plain = json.dumps({"key": key, "title": "x" * 200})
    hosts = "img.example 2\n" if fingerprint else None
    return DesiredRow(
        key, agency, "for_sale", ("c", "i", None, None, None, None), plain, fingerprint, hosts
    )


def _fill(store: Store) -> None:
    """Every kind of row the condition tells apart: desired with and without a record,
    JSON null (gone from a full export), SQL NULL (never desired), two agencies."""
    with store.transaction() as session:
        rows = [_row(f"A{i}", "a", FINGERPRINT if i % 3 else None) for i in range(12)]
        rows += [_row(f"B{i}", "b", FINGERPRINT) for i in range(5)]
        save_desired_rows(session, rows, NOW, source_file_id=None)
        mark_missing_rows(session, ["A1", "A2", "B0"], NOW)
        session.execute(
            update(ListingRow)
            .where(ListingRow.listing_key.in_(["A4", "B1"]))
            .values(desired_json=None)
        )


def _reference(session: Session) -> list[tuple[str, str, str | None, str | None, bool]]:
    """Every row with its desired state told apart in Python, from the decoded column."""
    rows = session.execute(
        select(
            ListingRow.listing_key,
            ListingRow.agency_key,
            ListingRow.record_fingerprint,
            ListingRow.record_image_hosts,
            ListingRow.desired_json,
        )
    )
    return [(key, agency, fp, hosts, data is not None) for key, agency, fp, hosts, data in rows]


def test_the_queries_answer_exactly_the_desired_state_condition(store: Store) -> None:
    _fill(store)
    with store.read() as session:
        reference = _reference(session)
        records = known_records(session)
        for agency in ("a", "b", "c"):
            expected = sorted(k for k, ag, _, _, has in reference if has and ag == agency)
            assert keys_with_desired(session, agency) == expected
        with_record = {k: (ag, fp) for k, ag, fp, _, has in reference if has and fp is not None}
        assert len(records) == len(with_record) > 0
        for key, (agency, fingerprint) in with_record.items():
            found = records.get(key)
            assert found is not None
            assert (found.fingerprint, found.agency_key) == (fingerprint, agency)
            assert found.image_hosts == (("img.example", 2),)
        gone = [k for k, *_, has in reference if not has]
        assert sorted(gone) == ["A1", "A2", "A4", "B0", "B1"]
        assert all(records.get(key) is None for key in gone)


def _queries() -> dict[str, Select[tuple[str, ...]]]:
    c = desired_module._LISTINGS.c
    has = desired_module._HAS_DESIRED
    return {
        "ix_listings_known_record": select(
            c.listing_key, c.record_fingerprint, c.agency_key, c.record_image_hosts
        ).where(c.record_fingerprint.is_not(None), has),
        "ix_listings_desired_agency": select(c.listing_key)
        .where(c.agency_key == "a", has)
        .order_by(c.listing_key),
    }


def _plan(session: Session, query: Select[tuple[str, ...]], index: str) -> str:
    compiled = query.compile(session.connection())
    sql = str(compiled)
    if session.connection().dialect.name == "sqlite":
        # The desired_json terms must be implied by the index, never read from the row:
        # the row holds the wide JSON, reading it is the scan this index is there to avoid.
        params = tuple(compiled.params.values())
        ops = session.connection().exec_driver_sql("EXPLAIN " + sql, params).all()
        table_root = session.execute(
            text("SELECT rootpage FROM sqlite_master WHERE name = 'listings'")
        ).scalar_one()
        table_cursors = {op[2] for op in ops if op[1] == "OpenRead" and op[3] == table_root}
        assert not [op for op in ops if op[1] == "Column" and op[2] in table_cursors]
        plan = session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
        return " ".join(str(row[-1]) for row in plan)
    # A small table is cheaper to scan: with scans off, and the table's other secondary
    # indexes dropped in a savepoint rolled back after (which of two usable indexes the
    # planner picks on a few rows depends on its statistics of the moment), the planner
    # must still be able to use the index, which it can only if the query's terms imply
    # its predicate.
    session.execute(text("SET LOCAL enable_seqscan = off"))
    others = session.execute(
        text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'listings' "
            "AND indexname <> :index "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"  # a key's own
        ),
        {"index": index},
    ).scalars()
    savepoint = session.begin_nested()
    try:
        for other in list(others):
            session.execute(text(f'DROP INDEX "{other}"'))
        plan = session.connection().exec_driver_sql("EXPLAIN " + sql, compiled.params).all()
    finally:
        savepoint.rollback()
    return " ".join(str(row[0]) for row in plan)


def test_the_queries_read_the_partial_indexes_not_the_rows(store: Store) -> None:
    _fill(store)
    with store.transaction() as session:
        for index, query in _queries().items():
            assert index in _plan(session, query, index)
