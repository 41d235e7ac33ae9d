"""A skipped record on a real store: its listing's event and last error, the file's
outcome counting it, and a fatal file counting no record at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from syncd.store import events, listings
from syncd.store.listings import record_failure
from syncd.store.skipped import SKIPPED_ERROR_PREFIX
from syncd.usecases.ingest import ingest_file
from tests.fakes.ingest_world import World, csv_row, csv_text, open_world, seed_live


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with open_world(tmp_path) as opened:
        yield opened


def last_error(world: World, key: str) -> str | None:
    with world.store.read() as session:
        row = listings.get_listing(session, key)
        assert row is not None
        return row.last_error


def test_a_skipped_record_gets_an_event_and_a_last_error_until_fixed(
    world: World, now: datetime
) -> None:
    seed_live(world.store, ["A1", "A2"], now)
    path = world.drop("crm.csv", csv_text([csv_row("A1"), csv_row("A2", price=-5)]))

    result = ingest_file(world.store, world.config, path, now)

    assert result.summary == "accepted, 1 skipped"
    error = last_error(world, "A2")
    assert error is not None and error.startswith(f"{SKIPPED_ERROR_PREFIX} in crm.csv")
    assert "asking_price = '-5'" in error and "negative" in error
    assert last_error(world, "A1") is None
    with world.store.read() as session:
        kinds = [e.kind for e in events.events_of_listing(session, "A2")]
    assert "record_skipped" in kinds
    assert result.moved_to is not None
    receipt = json.loads(result.moved_to.with_name("crm.csv.result.json").read_text("utf-8"))
    assert receipt["summary"] == "accepted, 1 skipped"

    later = now + timedelta(minutes=5)
    fixed = world.drop("crm-2.csv", csv_text([csv_row("A1"), csv_row("A2", price=3_000_000)]))
    assert ingest_file(world.store, world.config, fixed, later).summary == "accepted"
    assert last_error(world, "A2") is None


def test_a_skipped_record_leaves_hemnets_own_error_in_place(world: World, now: datetime) -> None:
    seed_live(world.store, ["A1"], now)
    with world.store.transaction() as session:
        record_failure(session, "A1", "400 title too long", now, failed_hash="h")
    path = world.drop("crm.csv", csv_text([csv_row("A1", price=-5)]))
    ingest_file(world.store, world.config, path, now)
    assert last_error(world, "A1") == "400 title too long"
    # And a usable record later never clears an error that came from Hemnet.
    again = world.drop("crm-2.csv", csv_text([csv_row("A1")]))
    ingest_file(world.store, world.config, again, now + timedelta(minutes=1))
    assert last_error(world, "A1") == "400 title too long"


def test_a_record_both_skipped_and_usable_in_one_file_is_not_flagged(
    world: World, now: datetime
) -> None:
    seed_live(world.store, ["A1"], now)
    path = world.drop("crm.csv", csv_text([csv_row("A1", price=-5), csv_row("A1")]))
    ingest_file(world.store, world.config, path, now)
    assert last_error(world, "A1") is None


def test_a_fatal_file_counts_no_record_and_no_usable_one(world: World, now: datetime) -> None:
    # Two whole records before the break: none of them counts, as in 'syncd check'.
    text = "<openimmo><anbieter><immobilie></immobilie><immobilie></immobilie>\n<geo>\n</anbieter>"
    result = ingest_file(world.store, world.config, world.drop("broken.xml", text), now)
    assert (result.outcome, result.summary, result.records, result.accepted) == (
        "rejected",
        "rejected",
        0,
        0,
    )
    assert result.moved_to is not None
    error = json.loads(result.moved_to.with_name("broken.xml.error.json").read_text("utf-8"))
    assert (error["records"], error["accepted"], error["skipped"]) == (0, 0, 0)
