"""A re-dropped CSV export's rows found a block at a time (csv_lines.BlockLines, KnownRun):
blocks ending anywhere, runs broken by changed, bad and quoted rows, a duplicate within a
run and between a run and a row read (in both orders), rows of another agency and other
image hosts: ingest stores, says and plans what reading every row does."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from syncd.formats import csv_lines
from syncd.formats.csv_lines import RowFinder, RowLines
from tests.integration.test_ingest_row_digests import (
    _same_as_reading_everything,
    ingest,
    rows,
    world_at,
)

COUNT = 20


def _base() -> list[dict[str, str]]:
    # A host that never resolves (a warning with its first record and its image count).
    never = {f"K{n}": {"bild_1": f"https://foto.invalid/K{n}.jpg"} for n in (5, 14, 15, 16)}
    return rows(
        COUNT,
        K3={"maklarbyra": "byra-2"},
        K6={"rubrik": '"Villa\nmed ""utsikt"""'},  # a quoted row over two lines
        K13={"bild_1": ""},
        **never,
    )


@pytest.mark.parametrize("block_bytes", [1, 300, 1 << 20])
def test_runs_of_found_rows_store_and_say_what_reading_every_row_does(
    block_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_lines, "BLOCK_BYTES", block_bytes)
    base = _base()
    new = rows(COUNT, K10={"utgangspris": "1995000"}, K12={"utgangspris": "-5"})
    changed = [*base[:10], new[10], base[11], new[12], *base[13:]]
    # Found twice in one run; found then read; read then found.
    twice = [*base[:4], base[2], *base[4:15], new[10], new[11], base[11], *base[15:]]
    left_out = base[:-1]  # a full export: K19 goes
    unread = _same_as_reading_everything([base, changed, twice, base, left_out])
    # Most rows of the four re-drops are found (each one's changes and bad rows are not).
    assert unread > 3 * COUNT


def test_a_re_drop_of_one_line_rows_finds_them_a_block_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[bytes] = []
    one_at_a_time = RowLines.known

    def known(self: RowLines, find: RowFinder) -> object:
        asked.append(b"")
        return one_at_a_time(self, find)

    monkeypatch.setattr(RowLines, "known", known)
    exported = rows(50)
    with (
        tempfile.TemporaryDirectory() as scratch,
        world_at(Path(scratch), read_everything=False) as world,
    ):
        ingest(world, 0, exported)
        asked.clear()
        result = ingest(world, 1, exported)  # the same rows and a blank line at the end
    assert (result.records, result.unchanged) == (50, 50)
    assert len(asked) <= 2  # at the blank line and the end: never once a row
