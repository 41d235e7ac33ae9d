"""A row found by its digest takes its key's position from its digest's row (the parse's
keys start from the known ones): a duplicate between it and a row read is still found and
warned, in either order, the last one winning, as when every row is read."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.integration.test_ingest_row_digests import (
    KEYS,
    _receipt,
    _same_as_reading_everything,
    ingest,
    rows,
    world_at,
)


def _key_warnings(result: object) -> list[tuple[str, int, str]]:
    said = _receipt(result)["warnings"]  # type: ignore[arg-type]
    return [
        (w["listing_key"], w["record"], w["reason"])
        for w in said
        if w.get("field") == "listing_key"
    ]


@pytest.mark.parametrize("found_first", [True, False])
def test_a_found_row_and_a_read_row_of_one_listing_are_duplicates(found_first: bool) -> None:
    base = rows()
    changed = rows(K1={"utgangspris": "990000"})[1]
    # K1's stored row (found by its digest) and a changed K1 row (read), at the end.
    pair = [base[1], changed] if found_first else [changed, base[1]]
    exported = [*base[:1], *base[2:], *pair]
    with (
        tempfile.TemporaryDirectory() as scratch,
        world_at(Path(scratch), read_everything=False) as world,
    ):
        ingest(world, 0, base)
        result = ingest(world, 1, exported)
        assert (result.records, result.unchanged) == (KEYS + 1, KEYS)  # all but the changed
        reason = f"the same listing key as record {KEYS}; the last one wins"
        assert _key_warnings(result) == [("K1", KEYS + 1, reason)]
        # The last one wins: the changed row only when it comes last.
        assert result.changed_keys == (("K1",) if found_first else ())
    _same_as_reading_everything([base, exported, base])


def test_a_new_key_twice_and_a_known_key_read_twice_are_duplicates() -> None:
    base = rows()
    once = rows(KEYS + 1, K2={"utgangspris": "1"})
    twice = rows(KEYS + 1, K2={"utgangspris": "2"})
    exported = [*once, twice[2], twice[KEYS]]
    with (
        tempfile.TemporaryDirectory() as scratch,
        world_at(Path(scratch), read_everything=False) as world,
    ):
        ingest(world, 0, base)
        result = ingest(world, 1, exported)
        warned = [(key, record) for key, record, _ in _key_warnings(result)]
        assert warned == [("K2", KEYS + 2), (f"K{KEYS}", KEYS + 3)]
    _same_as_reading_everything([base, exported])
