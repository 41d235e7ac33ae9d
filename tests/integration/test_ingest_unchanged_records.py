"""Records taken unread: a record that is the very one its listing was last read from is not
read again, and ingest stores, reports and plans exactly what reading it would have.

Each test ingests real exports into a migrated store; "read everything" (the behaviour to
keep) is the same ingest with no stored fingerprints offered to it.
"""

from __future__ import annotations

import importlib.resources
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, select, update

from syncd.core.domain import Listing
from syncd.formats import fingerprint as fingerprint_module
from syncd.formats import load_mapping
from syncd.formats.fingerprint import can_fingerprint
from syncd.store import events, listings
from syncd.store.location import Database
from syncd.store.tables import ListingRow
from syncd.usecases.apply import current_plan
from syncd.usecases.ingest import IngestResult, ingest_file
from syncd.usecases.ingest import take as take_module
from tests.fakes.ingest_world import World, csv_row, csv_text, listing_state, open_world

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with open_world(tmp_path) as opened:
        yield opened


def ingest(world: World, name: str, text: str, at: datetime = NOW) -> IngestResult:
    return ingest_file(world.store, world.config, world.drop(name, text), at)


def rows(count: int, **changed: dict[str, str]) -> list[dict[str, str]]:
    """``count`` listings K0.., with ``changed[key]`` laid over that listing's row; K2's
    image is on a loopback address (a warning on every file that has it)."""
    loopback = {"K2": {"bild_1": "http://127.0.0.1/K2.jpg"}}
    return [
        csv_row(f"K{i}") | loopback.get(f"K{i}", {}) | changed.get(f"K{i}", {})
        for i in range(count)
    ]


def desired(world: World, key: str) -> Listing | None:
    with world.store.read() as session:
        row = listings.get_listing(session, key)
        return None if row is None else listings.desired_listing(row)


def fingerprints(world: World) -> dict[str, tuple[str | None, str | None]]:
    connection = sqlite3.connect(world.config.paths.database)
    try:
        query = "SELECT listing_key, record_fingerprint, record_image_hosts FROM listings"
        return {key: (fp, hosts) for key, fp, hosts in connection.execute(query)}
    finally:
        connection.close()


def test_an_unchanged_record_is_taken_unread_and_a_changed_one_is_read(world: World) -> None:
    first = ingest(world, "a.csv", csv_text(rows(5)))
    assert (first.unchanged, len(first.changed_keys)) == (0, 5)
    before = listing_state(world.store)

    second = ingest(world, "b.csv", csv_text(rows(5, K3={"utgangspris": "2995000"})))

    assert (second.records, second.accepted, second.unchanged) == (5, 5, 4)
    assert second.changed_keys == ("K3",)
    after = listing_state(world.store)
    assert {k: v for k, v in after.items() if k != "K3"} == {
        k: v for k, v in before.items() if k != "K3"
    }
    listing = desired(world, "K3")
    assert listing is not None and listing.asking_price == 2_995_000
    assert fingerprints(world)["K0"][1] == "img.example.se 1\n"


def _everything(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """No stored fingerprint offered: every record read, as before records were taken unread."""
    monkeypatch.setattr(
        take_module, "known_records", lambda _session, **_kw: listings.KnownRecords()
    )


# A story of exports: unchanged, changed, a duplicated key (both orders), a listing left
# out (missing) and back, a record broken then sent as it was, another agency, a warning.
STORY: list[list[dict[str, str]]] = [
    rows(6),
    rows(6, K1={"utgangspris": "1995000"}),
    [*rows(6), csv_row("K2", price=2_000_000)],
    [csv_row("K2", price=2_000_000), *rows(6)],
    rows(5),
    rows(6, K4={"utgangspris": "-5"}),
    rows(6),
    rows(6, K0={"maklarbyra": "byra-2"}, K5={"postnummer": "753"}),
    rows(6, K0={"maklarbyra": "byra-2"}, K5={"postnummer": "753"}),
]


def _receipt(result: IngestResult) -> dict[str, Any]:
    assert result.moved_to is not None
    path = result.moved_to.with_name(result.moved_to.name + ".result.json")
    written = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in written.items() if k not in ("sha256", "received_at")}


def _story(world: World) -> tuple[list[dict[str, Any]], int]:
    """What each export of the story did, and how many records were taken unread."""
    seen = []
    unread = 0
    for n, exported in enumerate(STORY):
        at = NOW + timedelta(minutes=n)
        # A blank line more each time: other bytes, never a duplicate of the one before.
        result = ingest(world, f"crm-{n}.csv", csv_text(exported) + "\n" * n, at)
        unread += result.unchanged
        seen.append(
            {
                "result": (result.outcome, result.records, result.accepted, result.skipped),
                "warnings": result.warnings,
                "receipt": _receipt(result),
                "changed": result.changed_keys,
                "listings": listing_state(world.store),
            }
        )
    with world.store.read() as session:
        said = [(e.listing_key, e.kind, e.message) for e in events.recent_events(session, 500)]
    seen.append({"events": sorted(said, key=repr)})
    return seen, unread


def test_taking_records_unread_stores_and_says_what_reading_them_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("unread", "read"):
        (tmp_path / name).mkdir()
    with open_world(tmp_path / "unread") as world:
        unread, taken_unread = _story(world)
        assert fingerprints(world)["K1"][0] is not None
    with monkeypatch.context() as patched:
        _everything(world, patched)
        with open_world(tmp_path / "read") as world:
            read, none_unread = _story(world)
    assert (taken_unread > 20, none_unread) == (True, 0)
    assert unread == read


def test_the_first_export_after_an_upgrade_sends_nothing_for_unchanged_listings(
    world: World,
) -> None:
    """Listings stored by a syncd that kept no fingerprints, in step with Hemnet: the same
    export again changes nothing, plans no call, and keeps the fingerprints from then on."""
    ingest(world, "a.csv", csv_text(rows(4)))
    connection = sqlite3.connect(world.config.paths.database)
    with connection:
        connection.execute(
            "UPDATE listings SET record_fingerprint = NULL, record_image_hosts = NULL"
        )
    connection.close()
    planned = current_plan(world.store, world.config, NOW).ops

    again = ingest(world, "b.csv", csv_text(rows(4)).replace("\n", "\r\n"))  # other bytes

    assert (again.unchanged, again.changed_keys) == (0, ())
    assert current_plan(world.store, world.config, NOW).ops == planned
    assert all(fp is not None for fp, _hosts in fingerprints(world).values())
    assert ingest(world, "c.csv", csv_text(rows(4)) + "\n").unchanged == 4


def test_another_mapping_or_other_code_reads_every_record_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapping = tmp_path / "mine.toml"
    bundled = importlib.resources.files("syncd.mappings") / "generic-csv.toml"
    text = bundled.read_text(encoding="utf-8")
    assert '\ntitle = "rubrik"\n' in text
    mapping.write_text(text, encoding="utf-8")
    rule = f'\n[[formats]]\npattern = "*.csv"\nmapping = "{mapping}"\n'
    (tmp_path / "world").mkdir()
    with open_world(tmp_path / "world", extra=rule) as world:
        ingest(world, "a.csv", csv_text(rows(3)))
        mapping.write_text(text + "\n# a comment changes no record\n", encoding="utf-8")
        assert ingest(world, "b.csv", csv_text(rows(3)) + "\n").unchanged == 3

        mapping.write_text(text.replace('\ntitle = "rubrik"\n', "\n"), encoding="utf-8")
        again = ingest(world, "c.csv", csv_text(rows(3)) + "\n\n")
        assert (again.unchanged, len(again.changed_keys)) == (0, 3)
        listing = desired(world, "K0")
        assert listing is not None and listing.title is None

        assert ingest(world, "d.csv", csv_text(rows(3)) + "\n\n\n").unchanged == 3
        monkeypatch.setattr(fingerprint_module, "code_digest", lambda: b"another syncd")
        assert ingest(world, "e.csv", csv_text(rows(3))).unchanged == 0


def _openimmo(agency: str, prices: list[int]) -> str:
    records = "".join(
        "<immobilie><objektkategorie><objektart><haus/></objektart></objektkategorie>"
        f"<geo><plz>75320</plz><ort>Uppsala</ort><strasse>Storgatan</strasse>"
        f"<hausnummer>{i}</hausnummer></geo><preise><kaufpreis>{price}</kaufpreis></preise>"
        f"<freitexte><objekttitel>Villa {i}</objekttitel></freitexte><anhaenge>"
        f'<anhang gruppe="BILD"><daten><pfad>https://img.example.se/X{i}.jpg</pfad></daten>'
        f"</anhang></anhaenge><verwaltung_techn><objektnr_extern>X{i}</objektnr_extern>"
        "</verwaltung_techn></immobilie>\n"
        for i, price in enumerate(prices)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<openimmo><uebertragung umfang="VOLL"/>'
        f"<anbieter><openimmo_anid>{agency}</openimmo_anid><firma>Byrå {agency}</firma>\n"
        f"{records}</anbieter></openimmo>\n"
    )


def test_xml_records_are_taken_unread_and_their_agency_read_from_outside_them(
    world: World,
) -> None:
    assert len(ingest(world, "a.xml", _openimmo("byra-1", [100, 200, 300])).changed_keys) == 3
    second = ingest(world, "b.xml", _openimmo("byra-1", [100, 250, 300]))
    assert (second.unchanged, second.changed_keys) == (2, ("X1",))
    # The agency is the <anbieter>'s, outside each record: the records are read again.
    moved = ingest(world, "c.xml", _openimmo("byra-9", [100, 250, 300]))
    assert (moved.unchanged, len(moved.changed_keys)) == (0, 3)
    listing = desired(world, "X0")
    assert listing is not None and listing.agency_key == "byra-9"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("openimmo", True), ("generic-csv", True), ("rightmove-blm", True), ("kyero", False)],
)
def test_which_bundled_mappings_take_records_unread(name: str, expected: bool) -> None:
    # Kyero reads the broker's e-mail from the <agent> beside its records.
    assert can_fingerprint(load_mapping(name)) is expected


def test_records_are_taken_unread_on_either_engine(tmp_path: Path, database: Database) -> None:
    """The unread path's own writes (fingerprints set for listings stored before them) run
    on PostgreSQL as on SQLite. Each export changes K3, so none is a copy of the last."""
    with open_world(tmp_path, database=database) as world:

        def export(name: str, price: str, minutes: int) -> IngestResult:
            text = csv_text(rows(4, K3={"utgangspris": price}))
            return ingest(world, name, text, NOW + timedelta(minutes=minutes))

        assert len(export("a.csv", "1000000", 0).changed_keys) == 4
        table = cast(Table, ListingRow.__table__)
        with world.store.transaction() as session:  # as a store from before fingerprints
            session.execute(update(table).values(record_fingerprint=None))
        again = export("b.csv", "2000000", 1)
        assert (again.unchanged, again.changed_keys) == (0, ("K3",))
        third = export("c.csv", "3000000", 2)
        assert (third.unchanged, third.changed_keys) == (3, ("K3",))
        with world.store.read() as session:
            stored = session.execute(select(table.c.record_fingerprint)).scalars().all()
        assert len(stored) == 4 and all(stored)
