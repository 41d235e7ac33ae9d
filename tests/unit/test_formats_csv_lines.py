"""A CSV row found by its bytes (csv_lines.RowLines.known) is exactly the row csv.reader
would read there: over any text, in an encoding split as bytes or read as text, the rows
found and the rows read give the same rows, at the same lines, with the same errors, as
reading every row."""

from __future__ import annotations

import csv
import dataclasses
import random
import tempfile
from array import array
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.core.errors import ParseError
from syncd.core.packed_digests import DIGEST_BYTES
from syncd.formats import csv_lines, load_mapping
from syncd.formats.csv_lines import (
    BlockFinder,
    RowFinder,
    RowLines,
    binary_lines,
    body,
    byte_lines,
    text_lines,
)
from syncd.formats.csv_reader import CsvSource, KnownRow, KnownRun, TabularRecord

GENERIC = load_mapping("generic-csv")
# What makes rows hard to tell apart: delimiters, quotes (balanced or stray), every line
# break, blank lines; and a letter of more than one byte in UTF-8.
TEXT = st.text(alphabet='aä;" \n\r', max_size=120)
CELL = st.text(alphabet='aä;" \n\r', max_size=8)
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


def _read(
    path: Path,
    encoding: str,
    finder_for: Callable[[bytes], RowFinder | None] | None,
    blocks: tuple[Callable[[bytes], BlockFinder], list[str]] | None = None,
) -> Read | str:
    """(row bytes in hex, start line, its cells when read) of each record, or the
    ParseError; a row found is known by its bytes (the finders below give them as key).
    ``blocks`` (``_block_finder``'s): a run's rows one by one, each on the line after the
    one before."""
    mapping = dataclasses.replace(GENERIC, delimiter=";", encoding=encoding)
    block_finder_for, listed = blocks if blocks is not None else (None, [])
    found: Read = []
    try:
        items = CsvSource(path, mapping).records(finder_for, block_finder_for)
        for record, line, _problems in items:
            if isinstance(record, KnownRun):
                assert line is not None
                found.extend((listed[r], line + n, None) for n, r in enumerate(record.rows))
            elif isinstance(record, KnownRow):
                found.append((record.key, line, None))
            else:
                assert isinstance(record, TabularRecord) and record.raw is not None
                found.append((record.raw.hex(), line, record.row))
    except ParseError as error:
        return str(error)
    return found


def _texts(read: Read | str) -> set[str]:
    return set() if isinstance(read, str) else {text for text, _line, _cells in read}


def _finder(known: set[str]) -> Callable[[bytes], RowFinder | None]:
    def finder_for(_form: bytes) -> RowFinder:
        return lambda row: (row.hex(), b"") if row.hex() in known else None

    return finder_for


def _csv_rows(path: Path, encoding: str) -> list[list[str] | None] | None:
    with path.open(encoding=encoding, newline="") as stream:
        try:
            rows = list(csv.reader(stream, delimiter=";", strict=True))
        except csv.Error:
            return None
    return [row for row in rows[1:] if any(cell.strip() for cell in row)]


def _write(path: Path, text: str, encoding: str) -> Path:
    path.write_text(text, encoding=encoding, newline="")
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
@settings(max_examples=150, deadline=None)
@given(before=exports(), now=exports(), keep=st.randoms())
def test_rows_found_by_their_bytes_are_the_rows_reading_every_row_gives(
    encoding: str, before: str, now: str, keep: random.Random
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder) / "now.csv", now, encoding)
        every = _read(path, encoding, None)
        # What csv.reader over the text reads, as ever (or an error where it fails).
        expected = _csv_rows(path, encoding)
        assert isinstance(every, str) == (expected is None)
        if not isinstance(every, str):
            assert [cells for _, _, cells in every] == expected
        # Rows of an earlier export and of this one: bytes read before, from a row's start.
        earlier = _write(Path(folder) / "before.csv", before, encoding)
        known = _texts(_read(earlier, encoding, None)) | _texts(every)
        some = {text for text in sorted(known) if keep.random() < 0.5}
        for finder in (_finder(known), _finder(some), _finder(set())):
            taken = _read(path, encoding, finder)
            if isinstance(every, str):
                assert taken == every  # the same error, at the same line
                continue
            assert isinstance(taken, list) and len(taken) == len(every)
            for (text, line, cells), (read_text, read_line, read_cells) in zip(
                taken, every, strict=True
            ):
                assert (text, line) == (read_text, read_line)
                assert cells is None or cells == read_cells


def test_a_rows_bytes_leave_out_only_the_line_break_that_ends_it() -> None:
    lines = (b"a\r\n", b"a\n", b"a\r", b"a", b'"a\n\nb"\n', b"\n")
    assert [body(line) for line in lines] == [b"a", b"a", b"a", b"a", b'"a\n\nb"', b""]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_lines_end_where_text_read_with_newline_empty_ends_them(
    tmp_path: Path, encoding: str
) -> None:
    text = "h\r\na\rb\r\r\nc\n\rd"
    path = _write(tmp_path / "x.csv", text, encoding)
    with path.open(encoding=encoding, newline="") as stream:
        expected = list(stream)
    with path.open("rb") as binary, path.open(encoding=encoding, newline="") as stream:
        readline = binary_lines(binary, encoding) if byte_lines(encoding) else text_lines(stream)
        lines = RowLines(readline, lambda line: line.decode("utf-8"))
        assert list(lines.feed()) == expected


def _block_finder(known: set[str]) -> tuple[Callable[[bytes], BlockFinder], list[str]]:
    """A BlockFinder that knows ``known`` rows' bytes (in hex), each at its place in the
    list it returns beside it."""
    listed = sorted(known)

    def block_finder_for(_form: bytes) -> BlockFinder:
        def find_block(bodies: list[bytes]) -> tuple[array[int], bytes]:
            found = [listed.index(b.hex()) if b.hex() in known else -1 for b in bodies]
            return array("i", found), bytes(DIGEST_BYTES * len(bodies))

        return find_block

    return block_finder_for, listed


def _read_blocks(path: Path, encoding: str, known: set[str], size: int) -> Read | str:
    """``_read`` with rows found a block of ``size`` bytes at a time too."""
    with mock.patch.object(csv_lines, "BLOCK_BYTES", size):
        return _read(path, encoding, _finder(known), _block_finder(known))


def _same_rows(taken: Read | str, every: Read | str) -> None:
    if isinstance(every, str):
        assert taken == every  # the same error, at the same line
        return
    assert isinstance(taken, list) and len(taken) == len(every)
    for (text, line, cells), (read_text, read_line, read_cells) in zip(taken, every, strict=True):
        assert (text, line) == (read_text, read_line)
        assert cells is None or cells == read_cells


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
@settings(max_examples=150, deadline=None)
@given(before=exports(), now=exports(), keep=st.randoms(), size=st.sampled_from([1, 2, 7, 64]))
def test_rows_found_a_block_at_a_time_are_the_rows_reading_every_row_gives(
    encoding: str, before: str, now: str, keep: random.Random, size: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder) / "now.csv", now, encoding)
        every = _read(path, encoding, None)
        earlier = _write(Path(folder) / "before.csv", before, encoding)
        known = _texts(_read(earlier, encoding, None)) | _texts(every)
        some = {text for text in sorted(known) if keep.random() < 0.5}
        for rows in (known, some, set()):
            taken = _read_blocks(path, encoding, rows, size)
            _same_rows(taken, every)
            assert taken == _read(path, encoding, _finder(rows))  # found as a line at a time


# A quoted row over three lines (\r\n and a bare \r inside it), a bare \r ending a row,
# a blank line, the same row twice, a stray quote: cut into blocks at every byte.
_AWKWARD = 'h1;h2\r\nx;"a\r\nb\rc"\r\ny;1\rz;2\n\ny;1\rs;a"b\nq;"3"\n'


@pytest.mark.parametrize("size", range(1, len(_AWKWARD) + 2))
def test_a_block_may_end_anywhere_inside_a_row_or_its_line_break(size: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder) / "x.csv", _AWKWARD, "utf-8")
        every = _read(path, "utf-8", None)
        assert isinstance(every, list) and len(every) == 6
        known = _texts(every)
        for rows in (known, *(known - {drop} for drop in sorted(known))):
            taken = _read_blocks(path, "utf-8", rows, size)
            _same_rows(taken, every)
            # Found and read as a line at a time finds and reads them: a line whose quotes
            # are unbalanced (the stray quote's too) is not found a block at a time.
            assert taken == _read(path, "utf-8", _finder(rows))
