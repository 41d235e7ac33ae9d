"""What ingest stores is what it stored before its writes were made cheaper: every column of
every table, and every receipt beside the archived files, after a run of exports (the demo
exports, generated exports with bad records, then each again changed) on SQLite and on
PostgreSQL.

The reference (tests/fixtures/formats/ingest-stored-reference.json) was written by this
module's ``main()`` at main 35a97ed, the code before the ingeststore branch (2026-12-05), and
again at e6aba4c only to compare plan and status marks without their numbers (every other
table's digests unchanged), and on branch unsentevents (2026-12-06) only for the history line
of a listing a full export leaves out before it reached Hemnet ("not on Hemnet, so it will not
be created"): the 9 'missing' events of the events table changed on each engine, every other
row of every table kept its digest (no listing of the run has a hemnet_id or an op). A row
whose digest differs is named by table and position.
Rewrite it only for a change that means to change what is stored, and say so in that commit.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Text, select, type_coerce

from syncd.config import load_config
from syncd.store.engine import Store, open_store
from syncd.store.tables import metadata
from syncd.usecases.ingest import RESULT_SUFFIX, ingest_file
from tests.unit.test_ingest_first_reference import write_generated_csv, write_generated_xml

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "fixtures" / "formats" / "ingest-stored-reference.json"
DEMO = ROOT / "syncd" / "demo" / "data"
START = datetime(2026, 12, 5, 9, 30, 15, 123456, tzinfo=UTC)
CONFIG = """\
[paths]
inbox = "inbox"
state_dir = "state"
{store}
[[formats]]
pattern = "*.xml"
mapping = "openimmo"

[[formats]]
pattern = "*.csv"
mapping = "generic-csv"
"""


def _exports(folder: Path) -> Iterator[Path]:
    """The files dropped, in order: first ingests into an empty store, then changes (a
    re-drop with records unchanged, changed, left out and newly bad)."""
    yield DEMO / "nordhem-1.csv"
    yield DEMO / "vastkust-1.xml"
    write_generated_csv(folder / "generated-1.csv")
    yield folder / "generated-1.csv"
    write_generated_xml(folder / "generated-1.xml")
    yield folder / "generated-1.xml"
    yield DEMO / "nordhem-2.csv"
    yield DEMO / "vastkust-2.xml"
    write_generated_csv(folder / "generated-2.csv", count=380)
    text = (folder / "generated-2.csv").read_text(encoding="utf-8")
    (folder / "generated-2.csv").write_text(text.replace("Storgatan 1", "Storgatan 9"), "utf-8")
    yield folder / "generated-2.csv"


# Marks are numbered by the database as one statement marks many listings, in the order
# its plan reads them: on PostgreSQL that order changes with the table's statistics of the
# moment. What a mark means is its listing (and time), so they are compared without it.
_NUMBERED_MARKS = frozenset({"plan_marks", "status_marks"})


def _rows(store: Store) -> dict[str, list[str]]:
    """Every table's rows in primary-key order, one text each (JSON columns as stored);
    marks without their numbers, in the order of what they hold."""
    found: dict[str, list[str]] = {}
    with store.read() as session:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            columns = [
                type_coerce(c, Text()) if isinstance(c.type, JSON) else c
                for c in table.columns
                if not (table.name in _NUMBERED_MARKS and c.primary_key)
            ]
            order = columns if table.name in _NUMBERED_MARKS else table.primary_key.columns
            query = select(*columns).order_by(*order)
            found[table.name] = [
                repr(_fingerprint_out(row._mapping)) for row in session.execute(query)
            ]
    return found


def _fingerprint_out(row: Any) -> tuple[Any, ...]:
    """A row's values, a record's fingerprint only as there or not: it digests the source of
    syncd.formats and syncd.core (and Python's and lxml's versions) so that an upgrade reads
    every record again, and so changes with any change to that code."""
    return tuple(
        "<fingerprint>" if name == "record_fingerprint" and value is not None else value
        for name, value in row.items()
    )


def stored_after_ingests(folder: Path, database: Path | str) -> dict[str, list[str]]:
    """Each table's rows and each receipt after the exports, with the folder's path out."""
    store_line = "" if isinstance(database, Path) else f'\n[store]\nurl = "{database}"\n'
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "syncd.toml"
    config_path.write_text(CONFIG.format(store=store_line), encoding="utf-8")
    config = load_config(config_path)
    for name in ("inbox", "state"):
        (folder / name).mkdir(exist_ok=True)
    found: dict[str, list[str]] = {"results": []}
    with open_store(database) as store:
        for n, export in enumerate(_exports(folder)):
            dropped = config.paths.inbox / export.name
            dropped.write_bytes(export.read_bytes())
            result = ingest_file(store, config, dropped, START + timedelta(minutes=n))
            found["results"].append(repr(result))
            assert result.moved_to is not None
            receipt = result.moved_to.with_name(result.moved_to.name + RESULT_SUFFIX)
            found["results"].append(receipt.read_text(encoding="utf-8"))
        found.update(_rows(store))
    place = str(folder)
    return {
        name: [line.replace(place, "<folder>") for line in lines] for name, lines in found.items()
    }


def digests(stored: dict[str, list[str]]) -> dict[str, list[str]]:
    return {
        name: [hashlib.sha256(line.encode()).hexdigest()[:16] for line in lines]
        for name, lines in stored.items()
    }


def _engine(database: Path | str) -> str:
    return "sqlite" if isinstance(database, Path) else "postgresql"


def test_ingest_stores_what_it_stored_before_row_for_row(
    tmp_path: Path, database: Path | str
) -> None:
    expected: dict[str, list[str]] = json.loads(REFERENCE.read_text(encoding="utf-8"))[
        _engine(database)
    ]
    stored = stored_after_ingests(tmp_path / "work", database)
    found = digests(stored)
    assert sorted(found) == sorted(expected)
    for name, lines in found.items():
        want = expected[name]
        assert len(lines) == len(want), f"{name}: {len(lines)} rows, expected {len(want)}"
        differ = [n for n, (a, b) in enumerate(zip(lines, want, strict=True)) if a != b]
        shown = [stored[name][n][:300] for n in differ[:3]]
        assert not differ, f"{name}: rows {differ[:10]} differ from the reference: {shown}"


def test_the_run_stores_listings_events_and_bad_records(tmp_path: Path) -> None:
    """The reference is worth something only if the run writes what is compared."""
    database = tmp_path / "state" / "syncd.db"
    from syncd.store import migrate

    migrate.upgrade(database)
    stored = stored_after_ingests(tmp_path / "work", database)
    assert len(stored["listings"]) > 300
    assert len(stored["plan_marks"]) > 300
    assert len(stored["events"]) > 300
    receipts = [json.loads(text) for text in stored["results"][1::2]]
    assert sum(r.get("skipped", 0) for r in receipts) > 50
    assert any(", 'missing', " in line for line in stored["events"])


def main() -> None:
    """Write the reference on both engines (see the module's docstring for when)."""
    import tempfile

    from syncd.store import migrate
    from tests.pg import PostgresServer

    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        database = Path(scratch) / "state" / "syncd.db"
        migrate.upgrade(database)
        found["sqlite"] = digests(stored_after_ingests(Path(scratch) / "work", database))
    server = PostgresServer()
    server.start()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            found["postgresql"] = digests(
                stored_after_ingests(Path(scratch) / "work", server.reused())
            )
    finally:
        server.stop()
    REFERENCE.write_text(json.dumps(found, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {REFERENCE}", file=sys.stderr)


if __name__ == "__main__":
    main()
