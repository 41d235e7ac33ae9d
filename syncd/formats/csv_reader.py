"""Stream the rows of a delimited (CSV) export: encoding, delimiter, header, quoted newlines.

Rows are read one at a time; nothing but the header is kept. Reads and locates rows only;
turning them into listings is ``assemble``'s job.
"""

from __future__ import annotations

import codecs
import csv
import logging
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from syncd.core.domain import Problem
from syncd.core.errors import ParseError
from syncd.formats.csv_lines import (
    BlockFinder,
    BlockLines,
    RowFinder,
    RowLines,
    byte_lines,
    text_lines,
)
from syncd.formats.encoding import Utf8GuessWrong, text_file_encoding, utf8_at_first_sight
from syncd.formats.mapping import Expr, Mapping

log = logging.getLogger(__name__)

DELIMITERS = (";", ",", "|", "\t")
SNIFF_CHARS = 64 * 1024
csv.field_size_limit(16 * 1024 * 1024)  # descriptions with embedded JSON/HTML get long


class TabularRecord:
    """One row; expressions are column names (case-insensitive) or 1-based positions."""

    __slots__ = ("columns", "form", "positions", "raw", "row")

    def __init__(
        self,
        row: list[str],
        columns: dict[str, int],
        positions: dict[Expr, int | None] | None = None,
        raw: bytes | None = None,
        form: bytes = b"",
    ) -> None:
        self.row = row
        self.columns = columns
        # A CSV row's bytes as in the file, and what else decides its cells (encoding,
        # delimiter and header, the same object for a file's rows): its fingerprint is of
        # these.
        self.raw = raw
        self.form = form
        # expression -> column position, shared by a file's rows: a mapping asks for many
        # columns per row (bild_1..bild_50), so each name is folded once per file, not per row.
        self.positions = {} if positions is None else positions

    def values(self, expr: Expr) -> list[str]:
        index = self.positions.get(expr, -1)
        if index == -1:
            index = self.positions[expr] = self._position(expr)
        if index is None or index >= len(self.row):
            return []
        return [self.row[index]]

    @property
    def layout(self) -> object:
        """The same object for every row of one file (its header's columns)."""
        return self.columns

    def column(self, expr: Expr) -> int | None:
        """The position in ``row`` of the cell ``expr`` names (None: a column the file lacks);
        the same for every row of the file."""
        index = self.positions.get(expr, -1)
        if index == -1:
            index = self.positions[expr] = self._position(expr)
        return index

    def absent(self, expr: Expr) -> bool:
        """Whether ``expr`` names a column this file does not have (so is empty on every row)."""
        return self.column(expr) is None

    def _position(self, expr: Expr) -> int | None:
        return expr - 1 if isinstance(expr, int) else self.columns.get(expr.strip().lower())

    def each(self, expr: str) -> Sequence[TabularRecord]:
        return []


class KnownRow:
    """A row found by its bytes before it was read (csv_lines.RowLines.known): the very
    row its listing was last read from, so nothing of it is read."""

    __slots__ = ("digest", "key", "row")

    def __init__(self, key: str, digest: bytes, row: int = -1) -> None:
        self.key = key
        self.digest = digest
        self.row = row  # its key's position in the parse's keys (-1: not known)


class KnownRun:
    """Rows found one after another by their bytes before they were read, one line each
    (csv_lines.RowLines.known_run): ``KnownRow``s handed on as one item, with no Python
    object of their own. ``rows``: each one's row where its digest was found (its key's
    position in the parse's keys); ``digests``: theirs, DIGEST_BYTES each, back to back.
    ``index`` and ``line``: the first one's record index and line, once the parse counts
    them (0 and None before)."""

    __slots__ = ("digests", "index", "line", "rows")

    def __init__(self, rows: array[int], digests: bytes) -> None:
        self.rows = rows
        self.digests = digests
        self.index = 0
        self.line: int | None = None

    def __len__(self) -> int:
        return len(self.rows)


def _decoder(encoding: str, errors: str = "strict") -> Callable[[bytes], str]:
    def decode(line: bytes) -> str:
        return line.decode(encoding, errors)

    return decode


def column_index(header: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Column name -> position; a repeated name keeps its first column (with a warning)."""
    columns: dict[str, int] = {}
    warnings: list[str] = []
    for position, name in enumerate(header):
        key = name.strip().lstrip("\ufeff").lower()
        if not key:
            continue
        if key in columns:
            warnings.append(
                f"column {name!r} appears twice; the first one (column {columns[key] + 1}) is used"
            )
            continue
        columns[key] = position
    return columns, warnings


def sniff_delimiter(sample: str) -> str:
    """The candidate that splits the first rows into the same number (>1) of fields."""
    lines = sample.splitlines(keepends=True)
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may end inside a row
    text = "".join(lines[:50])
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in csv.reader(text.splitlines(keepends=True), delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not rows:
            continue
        counts = [len(r) for r in rows]
        consistent = sum(1 for c in counts if c == counts[0])
        score = (consistent if counts[0] > 1 else 0, counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


class CsvSource:
    """A CSV export opened for streaming: file-level facts, then ``records()``."""

    def __init__(self, path: Path, mapping: Mapping, *, guess_utf8: bool = False) -> None:
        """``guess_utf8``: read as UTF-8 when it is so at first sight, the rest checked as
        it is read (encoding.utf8_at_first_sight; Utf8GuessWrong from ``records``)."""
        self.path = path
        self.mapping = mapping
        self.guessed = guess_utf8 and utf8_at_first_sight(path, mapping.encoding)
        self.encoding, self.warnings = (
            ("utf-8", []) if self.guessed else text_file_encoding(path, mapping.encoding)
        )
        if mapping.delimiter != "auto":
            self.delimiter = mapping.delimiter
        else:
            with path.open(encoding=self.encoding, errors="replace", newline="") as stream:
                self.delimiter = sniff_delimiter(stream.read(SNIFF_CHARS))

    def records(
        self,
        finder_for: Callable[[bytes], RowFinder | None] | None = None,
        block_finder_for: Callable[[bytes], BlockFinder | None] | None = None,
    ) -> Iterator[tuple[TabularRecord | KnownRow | KnownRun, int | None, list[Problem]]]:
        """Each row with the line it starts on; raises ParseError on broken quoting.

        ``finder_for``: given the file's form (encoding, delimiter and header), what finds
        a row by its bytes; a row it finds is a ``KnownRow``, not read (never the first:
        the export mode may be read from it). ``block_finder_for``: likewise for many rows
        at once; rows it finds one after another are a ``KnownRun`` (with the line the
        first one starts on: each is one line)."""
        line = 1
        try:
            with self._lines() as (lines, opening):
                # strict: a quote left open swallows the rest of the file; better a clear
                # rejection than one listing whose street is every following row.
                reader = csv.reader(lines.feed(), delimiter=self.delimiter, strict=True)
                columns: dict[str, int] = {}
                positions: dict[Expr, int | None] = {}
                width: int | None = None
                form = opening
                if self.mapping.header:
                    header = next(reader, None)
                    if header is None:
                        return
                    width = len(header)
                    form += lines.take()
                    columns, warnings = column_index(header)
                    self.warnings.extend(warnings)
                    self._check_columns(columns)
                    line = lines.count + 1
                find = None if finder_for is None else finder_for(form)
                find_block = None if block_finder_for is None else block_finder_for(form)
                read = 0
                while True:
                    run = None if find_block is None or not read else lines.known_run(find_block)
                    if run is not None:
                        yield KnownRun(*run), line, []
                        line = lines.count + 1
                        continue
                    found = None if find is None or not read else lines.known(find)
                    if found is not None:
                        yield KnownRow(*found), line, []
                        line = lines.count + 1
                        continue
                    row = next(reader, None)
                    if row is None:
                        return
                    start, line = line, lines.count + 1
                    raw = lines.take()
                    if not any(cell.strip() for cell in row):
                        continue
                    read += 1
                    record = TabularRecord(row, columns, positions, raw, form)
                    yield record, start, self._shape(row, width)
        except csv.Error as exc:
            if self.guessed:  # read whole first, it may be another encoding and delimiter
                raise Utf8GuessWrong(str(self.path)) from None
            reason = str(exc)
            if "unexpected end of data" in reason:
                reason = "a quote opened in the row starting here is never closed"
            raise ParseError(f"not readable as CSV: {reason}", str(self.path), line) from None
        except UnicodeDecodeError as exc:
            if self.guessed:
                raise Utf8GuessWrong(str(self.path)) from None
            raise ParseError(
                f"bytes that are not {self.encoding} ({exc.reason})", str(self.path), line
            ) from None

    @contextmanager
    def _lines(self) -> Iterator[tuple[RowLines, bytes]]:
        """The file's lines, and its form so far (encoding and delimiter; the header's
        bytes follow): as bytes where its encoding allows (csv_lines.BYTE_LINES)."""
        name = codecs.lookup(self.encoding).name
        form = f"{name}\0{self.delimiter}\0".encode()
        if byte_lines(name):
            decoding = "utf-8" if name == "utf-8-sig" else name  # the mark is skipped
            with self.path.open("rb") as binary:
                block = BlockLines(binary, name)
                yield RowLines(block.readline, _decoder(decoding), block), form
            return
        with self.path.open(encoding=self.encoding, newline="") as stream:
            yield RowLines(text_lines(stream), _decoder("utf-8", "surrogatepass")), form

    @staticmethod
    def _shape(row: list[str], width: int | None) -> list[Problem]:
        """A row whose cell count differs from the header's is misaligned: every field of it
        may be read from the wrong column, so it is skipped rather than half-trusted."""
        if width is None or len(row) == width:
            return []
        used = len(row)
        while used > width and not row[used - 1].strip():
            used -= 1  # trailing empty cells (a stray delimiter at the end) are harmless
        if used == width:
            return []
        return [
            Problem(
                "row",
                f"{len(row)} cells",
                f"the row has {len(row)} cells but the header has {width} columns"
                " (a stray or missing delimiter?)",
            )
        ]

    def _check_columns(self, columns: dict[str, int]) -> None:
        for key, spec in self.mapping.fields.items():
            if not spec.required:
                continue  # optional columns may be left out of a file
            for expr in spec.expressions():
                if isinstance(expr, str) and expr.strip().lower() not in columns:
                    self.warnings.append(
                        f"column {expr!r} (for required field {key}) is not in the header"
                    )
