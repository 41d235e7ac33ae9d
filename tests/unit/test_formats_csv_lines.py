"""A CSV row found by its text (csv_lines.RowLines.known) is exactly the row csv.reader
would read there: over any text, the rows found and the rows read give the same rows, at
the same lines, with the same errors, as reading every row."""

from __future__ import annotations

import dataclasses
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.core.errors import ParseError
from syncd.formats import load_mapping
from syncd.formats.csv_lines import RowFinder, body
from syncd.formats.csv_reader import CsvSource, KnownRow, TabularRecord

MAPPING = dataclasses.replace(load_mapping("generic-csv"), delimiter=";", encoding="utf-8")
# What makes rows hard to tell apart: delimiters, quotes (balanced or stray), every line
# break, blank lines.
TEXT = st.text(alphabet='ab;" \n\r', max_size=120)
CELL = st.text(alphabet='ab;" \n\r', max_size=8)
BREAK = st.sampled_from(["\n", "\r\n", "\r"])


def _csv_cell(cell: str) -> str:
    if any(c in cell for c in ';"\n\r'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


@st.composite
def exports(draw: st.DrawFn) -> str:
    """A header and rows, well formed (quoted cells with newlines and quotes) or any text."""
    if draw(st.booleans()):
        return "h1;h2\n" + draw(TEXT)
    rows = draw(st.lists(st.lists(CELL, min_size=1, max_size=3), max_size=6))
    lines = [";".join(_csv_cell(c) for c in row) + draw(BREAK) for row in rows]
    return "h1;h2" + draw(BREAK) + "".join(lines)


Read = list[tuple[str, int | None, list[str] | None]]


def _read(path: Path, finder_for: Callable[[str], RowFinder | None] | None) -> Read | str:
    """(row text, start line, its cells when read) of each record, or the ParseError; a
    row found is known by its text (the finders below give it as the key)."""
    found: Read = []
    try:
        for record, line, _problems in CsvSource(path, MAPPING).records(finder_for):
            if isinstance(record, KnownRow):
                found.append((record.key, line, None))
            else:
                assert isinstance(record, TabularRecord) and record.raw is not None
                found.append((record.raw, line, record.row))
    except ParseError as error:
        return str(error)
    return found


def _texts(read: Read | str) -> set[str]:
    return set() if isinstance(read, str) else {text for text, _line, _cells in read}


def _finder(known: set[str]) -> Callable[[str], RowFinder | None]:
    def finder_for(_form: str) -> RowFinder:
        return lambda text: (text, b"") if text in known else None

    return finder_for


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


@settings(max_examples=400, deadline=None)
@given(before=exports(), now=exports(), keep=st.randoms())
def test_rows_found_by_their_text_are_the_rows_reading_every_row_gives(
    before: str, now: str, keep: random.Random
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder) / "now.csv", now)
        every = _read(path, None)
        # Rows of an earlier export and of this one: texts read before, from a row's start.
        known = _texts(_read(_write(Path(folder) / "before.csv", before), None)) | _texts(every)
        some = {text for text in sorted(known) if keep.random() < 0.5}
        for finder in (_finder(known), _finder(some), _finder(set())):
            taken = _read(path, finder)
            if isinstance(every, str):
                assert taken == every  # the same error, at the same line
                continue
            assert isinstance(taken, list) and len(taken) == len(every)
            for (text, line, cells), (read_text, read_line, read_cells) in zip(
                taken, every, strict=True
            ):
                assert (text, line) == (read_text, read_line)
                assert cells is None or cells == read_cells


def test_a_rows_text_leaves_out_only_the_line_break_that_ends_it() -> None:
    assert [body(t) for t in ("a\r\n", "a\n", "a\r", "a", '"a\n\nb"\n', "\n")] == [
        "a",
        "a",
        "a",
        "a",
        '"a\n\nb"',
        "",
    ]
