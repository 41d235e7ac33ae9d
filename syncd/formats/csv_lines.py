"""The lines of a CSV export, fed to ``csv.reader`` one at a time: the bytes of each row
it reads, and rows found by their bytes before it reads them.

A row is found by its bytes (``RowLines.known``) when they are exactly a row read before,
from a row boundary, with the same encoding, dialect and header (in the finder's salt):
then ``csv.reader`` would read those very lines as that very row, so nothing of it need
be read, nor even decoded. Any other lines are handed back, and ``csv.reader`` reads them
as always. A row's bytes leave out the line break that ends it (``body``): that break is
in none of its cells, so an export rewritten with other line breaks is still found.

Lines are split as text read with ``newline=""`` splits them (at \\n, \\r\\n and a bare \\r),
so ``csv.reader`` sees the lines, and reports the line numbers, it always did. Files in
an encoding where a \\n or \\r byte may be part of another character (UTF-16, UTF-32) are
read as text and each line encoded as UTF-8 for its digest.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO, TextIO

# (listing key, digest[, its key's position]) of a row whose bytes are those of its
# listing's last record.
RowFinder = Callable[[bytes], tuple[str, bytes] | tuple[str, bytes, int] | None]

# A row with quoted newlines is found by its lines taken while its quotes are unbalanced;
# past this many lines (a stray quote in an unquoted cell) it is left to csv.reader.
MAX_ROW_LINES = 200

# Encodings in which the bytes \n, \r and " are those characters and nothing else, and
# whose strict decoding gives back the bytes when encoded: a line is split, and a row
# found, on its bytes.
BYTE_LINES = frozenset(
    {"utf-8", "utf-8-sig", "ascii", "cp1252", "iso8859-1", "iso8859-15", "cp1250", "cp1257"}
)

_BARE_CR = re.compile(rb"(?<=\r)(?!\n)")


def byte_lines(encoding: str) -> bool:
    """Whether a file in ``encoding`` is split into lines, and its rows found, as bytes."""
    return codecs.lookup(encoding).name in BYTE_LINES


def body(line: bytes) -> bytes:
    """A row's bytes without the one line break that ends it (\\r\\n, \\n or \\r: a line
    split as ``newline=""`` splits ends with at most one), which is in none of its cells."""
    if line.endswith(b"\n"):
        return line[:-2] if line.endswith(b"\r\n") else line[:-1]
    return line[:-1] if line.endswith(b"\r") else line


def binary_lines(stream: BinaryIO, encoding: str) -> Callable[[], bytes]:
    """``readline`` of a file in a BYTE_LINES encoding, ending lines where ``newline=""``
    text would (a bare \\r too); b"" at the end. A UTF-8 byte order mark is left out."""
    if codecs.lookup(encoding).name == "utf-8-sig" and stream.read(3) != codecs.BOM_UTF8:
        stream.seek(0)
    pending: list[bytes] = []
    read = stream.readline

    def readline() -> bytes:
        if pending:
            return pending.pop()
        line = read()
        cr = line.find(b"\r")
        if cr == -1 or (cr == len(line) - 2 and line[-1:] == b"\n"):
            return line  # no bare \r: almost every line
        parts = [part for part in _BARE_CR.split(line) if part]
        pending.extend(reversed(parts[1:]))
        return parts[0]

    return readline


def text_lines(stream: TextIO) -> Callable[[], bytes]:
    """``readline`` of a file read as text (``newline=""``), each line as UTF-8."""

    def readline() -> bytes:
        return stream.readline().encode("utf-8", "surrogatepass")

    return readline


class RowLines:
    """A file's lines (``readline``, bytes), through ``feed`` decoded to ``csv.reader``;
    ``take`` is the bytes of the lines fed since the last take (the row just read),
    ``count`` the lines consumed so far."""

    def __init__(self, readline: Callable[[], bytes], decode: Callable[[bytes], str]) -> None:
        self._readline = readline
        self._decode = decode
        self._back: list[bytes] = []  # lines read by ``known`` and handed back, last first
        self._taken: list[bytes] = []
        self.count = 0

    def feed(self) -> Iterator[str]:
        back, taken, readline, decode = self._back, self._taken, self._readline, self._decode
        while True:
            line = back.pop() if back else readline()
            if not line:
                return
            self.count += 1
            taken.append(line)
            yield decode(line)

    def take(self) -> bytes:
        """The bytes of the row just read, without its line break (``body``)."""
        text = b"".join(self._taken)
        self._taken.clear()
        return body(text)

    def _next(self) -> bytes:
        return self._back.pop() if self._back else self._readline()

    def known(self, find: RowFinder) -> tuple[str, bytes] | tuple[str, bytes, int] | None:
        """The next row, consumed, if ``find`` knows its bytes; else None, nothing consumed."""
        back = self._back
        line = back.pop() if back else self._readline()
        if not line:
            return None
        if line.count(b'"') % 2:  # a quoted newline (or a stray quote): the row's lines
            chunk = self._quoted(line)
            found = find(body(b"".join(chunk)))
            if found is None:
                back.extend(reversed(chunk))
                return None
            self.count += len(chunk)
            return found
        # Most rows: one line, ended by \n (body() inlined: this runs for every row).
        found = find(line[:-1] if line[-1:] == b"\n" and line[-2:-1] != b"\r" else body(line))
        if found is None:
            back.append(line)
            return None
        self.count += 1
        return found

    def _quoted(self, line: bytes) -> list[bytes]:
        """``line`` and the lines after it while its quotes are unbalanced (at most
        MAX_ROW_LINES)."""
        chunk = [line]
        quotes = line.count(b'"')
        while quotes % 2 and len(chunk) < MAX_ROW_LINES:
            more = self._next()
            if not more:
                break
            chunk.append(more)
            quotes += more.count(b'"')
        return chunk
