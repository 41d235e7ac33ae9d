"""A full export's missing listings, its stored keys checked a chunk at a time against the
parse's keys (AgencyOf.without_runs): exactly the stored listings of its agencies that it
leaves out, when stored desired states change between the parse and the write (a listing
added, one taken away) and chunks line up with the parse's keys or not, on both engines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncd.store.listings import desired as desired_module
from syncd.store.listings import mark_missing_rows
from syncd.store.location import Database
from syncd.usecases.ingest import take as take_module
from syncd.usecases.ingest.parse import parse as real_parse
from tests.fakes.ingest_world import live_listing, open_world
from tests.fakes.store_state import save_desired
from tests.integration.test_ingest_row_digests import NOW, _receipt, ingest, rows

COUNT = 30


@pytest.mark.parametrize("chunk", [1, 4, 2_000])
def test_missing_keys_are_those_stored_at_the_write_and_left_out(
    chunk: int, database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(desired_module, "_KNOWN_CHUNK", chunk)
    base = rows(COUNT)
    left_out = {"K5", "K12", "K29"}
    again = [row for row in base if row["objektnummer"] not in left_out]

    def parse_then_change(*args: Any, **kwargs: Any) -> Any:
        parsed = real_parse(*args, **kwargs)
        # After the parse read the known records, before the write transaction.
        with world.store.transaction() as session:
            save_desired(session, live_listing("K7b"), NOW)  # byra-1's, not in the export
            save_desired(session, live_listing("X1", agency="byra-2"), NOW)  # another agency
            mark_missing_rows(session, ["K20"], NOW)  # no desired state any more
            mark_missing_rows(session, ["K12"], NOW)  # left out and already gone
        return parsed

    with open_world(tmp_path, database=database) as world:
        ingest(world, 0, base)
        monkeypatch.setattr(take_module, "parse", parse_then_change)
        result = ingest(world, 1, again)
        assert result.unchanged == COUNT - len(left_out)  # found by their bytes
        assert _receipt(result)["missing_keys"] == ["K29", "K5", "K7b"]  # key order
        monkeypatch.setattr(take_module, "parse", real_parse)
        # The next full export leaves out what this one did, and K7b: none of them again.
        result = ingest(world, 2, [*again, rows(COUNT + 1)[COUNT]])
        assert _receipt(result)["missing_keys"] == []
