"""ingest_file on real folders and a real SQLite file: stored, archived, rejected, held."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncd import metrics
from syncd.store import events, files, holds, listings
from syncd.usecases import ingest
from syncd.usecases.ingest import archive, ingest_file
from tests.fakes.ingest_world import (
    World,
    csv_row,
    csv_text,
    listing_state,
    open_world,
    seed_live,
)
from tests.fakes.store_state import load_desired


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with open_world(tmp_path) as opened:
        yield opened


def counter(outcome: str) -> float:
    value = metrics.REGISTRY.get_sample_value("syncd_export_files_total", {"outcome": outcome})
    return value or 0.0


def receipt(result: ingest.IngestResult, suffix: str = ".result.json") -> dict[str, Any]:
    assert result.moved_to is not None
    path = result.moved_to.with_name(result.moved_to.name + suffix)
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_accepts_good_records_skips_bad_ones_and_archives(world: World, now: datetime) -> None:
    rows = [csv_row("A1"), csv_row("A2", price=-5), csv_row("A3")]
    path = world.drop("crm.csv", csv_text(rows))
    before = counter("accepted")

    result = ingest_file(world.store, world.config, path, now)

    assert (result.outcome, result.records, result.accepted, result.skipped) == (
        "accepted",
        3,
        2,
        1,
    )
    assert result.changed_keys == ("A1", "A3")
    assert result.moved_to == world.config.paths.archive / "2026/03/01/crm.csv"
    assert result.moved_to.is_file() and not path.exists()
    data = receipt(result)
    assert data["changed_keys"] == ["A1", "A3"]
    assert data["mapping"] == "generic-csv" and data["export_mode"] == "full"
    [error] = data["errors"]
    assert error["listing_key"] == "A2" and error["field"] == "asking_price"
    assert "negative" in error["reason"]
    with world.store.read() as session:
        assert {r.listing_key for r in listings.all_listings(session)} == {"A1", "A3"}
        [row] = files.recent_export_files(session)
        assert (row.outcome, row.accepted, row.skipped) == ("accepted", 2, 1)
        assert row.archived_path == str(result.moved_to)
        # Named by neither the export nor the config: not saved, so never sent to Hemnet.
        assert listings.get_agency(session, "byra-1") is None
        [event] = events.events_of_listing(session, "A1")
        assert event.message.startswith("new listing from crm.csv: for_sale, Storgatan A1")
    assert counter("accepted") == before + 1


def test_identical_file_again_is_a_duplicate_that_changes_nothing(
    world: World, now: datetime
) -> None:
    content = csv_text([csv_row("A1"), csv_row("A2")])
    first = ingest_file(world.store, world.config, world.drop("a.csv", content), now)
    state = listing_state(world.store)

    later = now + timedelta(hours=1)
    again = ingest_file(world.store, world.config, world.drop("b.csv", content), later)

    assert again.outcome == "duplicate"
    assert again.changed_keys == ()
    assert again.reason is not None and "duplicate of a.csv" in again.reason
    assert listing_state(world.store) == state
    assert again.moved_to is not None and again.moved_to.is_file()
    assert again.moved_to != first.moved_to
    assert receipt(again)["duplicate_of"] == "a.csv"
    with world.store.read() as session:
        assert len(files.recent_export_files(session)) == 1


def test_a_copy_of_an_older_export_is_read_again(world: World, now: datetime) -> None:
    correct = csv_text([csv_row(key) for key in ("A1", "A2", "A3")])
    ingest_file(world.store, world.config, world.drop("a.csv", correct), now)
    broken = ingest_file(
        world.store, world.config, world.drop("b.csv", csv_text([csv_row("A1")])), now
    )
    assert broken.outcome == "accepted"
    with world.store.read() as session:
        assert load_desired(session).missing_since.keys() == {"A2", "A3"}

    # The CRM sends the correct export again, byte for byte: it is the current state again.
    later = now + timedelta(hours=1)
    again = ingest_file(world.store, world.config, world.drop("c.csv", correct), later)

    assert again.outcome == "accepted"
    assert again.changed_keys == ("A2", "A3")
    assert receipt(again)["reappeared_keys"] == ["A2", "A3"]
    with world.store.read() as session:
        desired = load_desired(session)
        assert desired.missing_since == {}
        assert desired.listings.keys() == {"A1", "A2", "A3"}
        assert [f.name for f in files.recent_export_files(session)] == ["c.csv", "b.csv", "a.csv"]
    # And a copy of that, the latest export now, is a duplicate again.
    twice = ingest_file(world.store, world.config, world.drop("d.csv", correct), later)
    assert twice.outcome == "duplicate"
    assert twice.reason is not None and "duplicate of c.csv" in twice.reason


def test_same_name_twice_gets_a_unique_archive_name(world: World, now: datetime) -> None:
    one = ingest_file(
        world.store, world.config, world.drop("x.csv", csv_text([csv_row("A1")])), now
    )
    two = ingest_file(
        world.store, world.config, world.drop("x.csv", csv_text([csv_row("A2")])), now
    )
    assert one.moved_to is not None and two.moved_to is not None
    assert one.moved_to.name == "x.csv" and two.moved_to.name == "x-2.csv"
    assert receipt(two)["changed_keys"] == ["A2"]


def test_only_changed_listings_count_and_the_event_says_what(world: World, now: datetime) -> None:
    ingest_file(
        world.store,
        world.config,
        world.drop("1.csv", csv_text([csv_row("A1"), csv_row("A2")])),
        now,
    )
    rows = [csv_row("A1", price=3_295_000), csv_row("A2"), csv_row("A3")]
    result = ingest_file(world.store, world.config, world.drop("2.csv", csv_text(rows)), now)

    assert result.changed_keys == ("A1", "A3")
    with world.store.read() as session:
        newest = events.events_of_listing(session, "A1")[0]
        assert newest.message == "desired state changed by 2.csv: price 3 495 000 → 3 295 000"
        assert len(events.events_of_listing(session, "A2")) == 1


def test_full_export_marks_the_absent_missing_keeps_the_first_time_and_clears_on_return(
    world: World, now: datetime
) -> None:
    seed_live(world.store, ["A1", "A2", "A3"], now)
    full = csv_text([csv_row("A1"), csv_row("A2")])
    ingest_file(world.store, world.config, world.drop("1.csv", full), now)
    later = now + timedelta(hours=2)
    ingest_file(world.store, world.config, world.drop("2.csv", full + "\n"), later)
    with world.store.read() as session:
        row = listings.get_listing(session, "A3")
        assert row is not None and row.desired_json is None
        assert row.missing_since == now

    back = ingest_file(
        world.store,
        world.config,
        world.drop("3.csv", csv_text([csv_row(k) for k in ("A1", "A2", "A3")])),
        later,
    )
    assert back.changed_keys == ("A3",)
    assert receipt(back)["reappeared_keys"] == ["A3"]
    with world.store.read() as session:
        row = listings.get_listing(session, "A3")
        assert row is not None and row.missing_since is None and row.desired_json is not None


def test_full_export_leaves_other_agencies_and_skipped_records_alone(
    world: World, now: datetime
) -> None:
    seed_live(world.store, ["A1", "A2"], now)
    seed_live(world.store, ["B1"], now, agency="byra-2")
    rows = [csv_row("A1"), csv_row("A2", price=-1)]  # A2 present but broken: keep it
    result = ingest_file(world.store, world.config, world.drop("1.csv", csv_text(rows)), now)
    assert result.outcome == "accepted"
    assert receipt(result)["missing_keys"] == []
    with world.store.read() as session:
        assert all(r.missing_since is None for r in listings.all_listings(session))


def test_incremental_export_never_marks_anything_missing(world: World, now: datetime) -> None:
    seed_live(world.store, ["A1", "A2"], now)
    path = world.drop("crm-incremental.csv", csv_text([csv_row("A1", price=1_000_000)]))
    result = ingest_file(world.store, world.config, path, now)
    assert result.changed_keys == ("A1",)
    assert receipt(result)["export_mode"] == "incremental"
    with world.store.read() as session:
        row = listings.get_listing(session, "A2")
        assert row is not None and row.missing_since is None and row.desired_json is not None


def test_empty_full_export_is_held_and_changes_no_listing(world: World, now: datetime) -> None:
    seed_live(world.store, ["A1", "A2"], now, agency="default")
    state = listing_state(world.store)
    before = counter("held")

    result = ingest_file(world.store, world.config, world.drop("empty.csv", csv_text([])), now)

    assert result.outcome == "held" and result.changed_keys == ()
    assert result.reason is not None and "2 listing(s) would go" in result.reason
    assert listing_state(world.store) == state
    with world.store.read() as session:
        [hold] = holds.open_holds(session)
        assert hold.agency_key == "default"
        assert hold.listing_keys_json == ["A1", "A2"]
        assert files.recent_export_files(session)[0].outcome == "held"
    assert counter("held") == before + 1


def test_config_agency_names_exports_that_name_none(tmp_path: Path, now: datetime) -> None:
    with open_world(tmp_path, agency=("demo-agency", "Demo Mäkleri AB")) as world:
        rows = [csv_row("A1", agency=""), csv_row("B1", agency="byra-2")]
        ingest_file(world.store, world.config, world.drop("1.csv", csv_text(rows)), now)
        with world.store.read() as session:
            a1, b1 = listings.get_listing(session, "A1"), listings.get_listing(session, "B1")
            assert a1 is not None and a1.agency_key == "demo-agency"
            assert b1 is not None and b1.agency_key == "byra-2"
            agency = listings.get_agency(session, "demo-agency")
            assert agency is not None and agency.name == "Demo Mäkleri AB"
            assert listings.get_agency(session, "byra-2") is None  # no name anywhere


def test_an_agency_is_named_by_the_config_or_the_export_never_by_its_key(
    tmp_path: Path, now: datetime
) -> None:
    agencies = '\n[agencies.byra-3]\nname = "Byrå Tre AB"\norganisation_number = "556000-0003"\n'
    with open_world(tmp_path, agency=("byra-1", "Byrå Ett AB"), extra=agencies) as world:
        rows = [
            csv_row("A1", agency="", maklarbyra_namn="Export Name Ignored AB"),
            csv_row("B1", agency="byra-2", maklarbyra_namn="Byrå Två AB"),
            csv_row("B2", agency="byra-2", maklarbyra_orgnr="556000-0002"),
            csv_row("C1", agency="byra-3", maklarbyra_namn="Old Name AB"),
            csv_row("D1", agency="byra-4"),
        ]
        ingest_file(world.store, world.config, world.drop("1.csv", csv_text(rows)), now)
        with world.store.read() as session:
            named = {
                key: (row.name, row.organisation_number)
                for key in ("byra-1", "byra-2", "byra-3")
                if (row := listings.get_agency(session, key)) is not None
            }
            assert listings.get_agency(session, "byra-4") is None
    assert named == {
        "byra-1": ("Byrå Ett AB", None),  # the config wins over the export
        "byra-2": ("Byrå Två AB", None),  # the first record that names it
        "byra-3": ("Byrå Tre AB", "556000-0003"),
    }


def test_malformed_file_is_rejected_with_its_location(world: World, now: datetime) -> None:
    seed_live(world.store, ["OI-1"], now)
    state = listing_state(world.store)
    path = world.drop("broken.xml", "<openimmo><anbieter><immobilie>\n<geo>\n</anbieter>")
    before = counter("rejected")

    result = ingest_file(world.store, world.config, path, now)

    assert result.outcome == "rejected"
    assert result.moved_to == world.config.paths.rejected / "broken.xml"
    assert result.moved_to.is_file() and not path.exists()
    error = receipt(result, ".error.json")
    assert error["error"] == "ParseError" and error["line"] == 3
    assert error["mapping"] == "openimmo"
    assert listing_state(world.store) == state
    with world.store.read() as session:
        [row] = files.recent_export_files(session)
        assert row.outcome == "rejected" and row.sha256 == error["sha256"]
    assert counter("rejected") == before + 1


def test_rejected_bytes_dropped_again_are_read_again(world: World, now: datetime) -> None:
    content = "<openimmo><anbieter>"
    first = ingest_file(world.store, world.config, world.drop("b.xml", content), now)
    second = ingest_file(world.store, world.config, world.drop("b.xml", content), now)
    assert (first.outcome, second.outcome) == ("rejected", "rejected")
    assert second.moved_to is not None and second.moved_to.name == "b-2.xml"
    with world.store.read() as session:
        assert len(files.recent_export_files(session)) == 1


def test_a_file_no_rule_matches_is_rejected(world: World, now: datetime) -> None:
    result = ingest_file(world.store, world.config, world.drop("notes.txt", "hello"), now)
    assert result.outcome == "rejected"
    assert result.reason is not None and "no [[formats]] pattern matches notes.txt" in result.reason


def test_identity_numbers_stay_out_of_receipts_and_events(world: World, now: datetime) -> None:
    rows = [
        csv_row("A1", saljare_namn="Sven", saljare_personnummer="19800101-1234"),
        csv_row("A2", price=-1, saljare_namn="Eva", saljare_personnummer="19900101-4321"),
    ]
    result = ingest_file(world.store, world.config, world.drop("p.csv", csv_text(rows)), now)
    assert result.moved_to is not None
    text = result.moved_to.with_name("p.csv.result.json").read_text(encoding="utf-8")
    assert "19800101" not in text and "19900101" not in text
    with world.store.read() as session:
        messages = [e.message for e in events.recent_events(session)]
    assert not any("1980" in m or "1990" in m for m in messages)


def test_a_crash_between_commit_and_move_is_finished_as_a_duplicate(
    world: World, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = world.drop("crash.csv", csv_text([csv_row("A1")]))

    def crash(source: Path, target: Path) -> None:
        raise KeyboardInterrupt  # the process dies after the commit, before the move

    monkeypatch.setattr(archive, "move", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest_file(world.store, world.config, path, now)
    monkeypatch.undo()
    assert path.exists()
    state = listing_state(world.store)

    result = ingest_file(world.store, world.config, path, now + timedelta(minutes=1))

    assert result.outcome == "duplicate" and result.changed_keys == ()
    assert result.moved_to == world.config.paths.archive / "2026/03/01/crash.csv"
    assert receipt(result)["changed_keys"] == ["A1"]  # the original receipt, completed
    assert listing_state(world.store) == state
