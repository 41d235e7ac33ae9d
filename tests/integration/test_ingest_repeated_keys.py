"""A listing key repeated within a re-dropped CSV export, one copy the row stored before
(found by its bytes, taken unread) and one changed, in either order: the last copy wins,
exactly as reading every row decides, and the store says so."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from syncd.store import listings
from syncd.usecases.ingest import ingest_file
from tests.fakes.ingest_world import csv_row, csv_text
from tests.integration.test_ingest_row_digests import NOW, _same_as_reading_everything, world_at

BASE = [csv_row(f"K{n}") for n in range(4)]
CHANGED = csv_row("K1", price=1_995_000)
OTHER = csv_row("K1", price=2_195_000)

STORIES = {
    "changed copy last": ([BASE, [*BASE, CHANGED]], 1_995_000),
    "unchanged copy last": ([BASE, [CHANGED, *BASE]], 3_495_000),
    "back and forth": ([BASE, [*BASE, CHANGED], [CHANGED, *BASE], [*BASE, CHANGED]], 1_995_000),
    "two changed copies": ([BASE, [CHANGED, *BASE, OTHER], [OTHER, *BASE, CHANGED]], 1_995_000),
    "repeated from the first export on": ([[*BASE, CHANGED], [CHANGED, *BASE]], 3_495_000),
}


@pytest.mark.parametrize(("exports", "price"), STORIES.values(), ids=STORIES.keys())
def test_the_last_copy_of_a_repeated_key_wins_as_reading_every_row_decides(
    exports: list[list[dict[str, str]]], price: int
) -> None:
    assert _same_as_reading_everything(exports) > 0  # rows were taken unread
    with (
        tempfile.TemporaryDirectory() as scratch,
        world_at(Path(scratch), read_everything=False) as world,
    ):
        for n, exported in enumerate(exports):
            path = world.drop(f"crm-{n}.csv", csv_text(exported) + "\n" * n)
            ingest_file(world.store, world.config, path, NOW + timedelta(minutes=n))
        with world.store.read() as session:
            row = listings.get_listing(session, "K1")
            assert row is not None
            stored = listings.desired_listing(row)
    assert stored is not None and stored.asking_price == price
