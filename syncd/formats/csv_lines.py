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

A file in bytes is read a block at a time (``BlockLines``), split into lines C-level, and
its rows found a block at a time (``RowLines.known_run``, a ``BlockFinder``): a run of
one-line rows found one after another is handed on whole, with no Python of its own per
row. A line whose quotes are unbalanced (a quoted newline, a stray quote) ends a run; it
is found, or read, a line at a time as before.
"""

from __future__ import annotations

import codecs
from array import array
from collections.abc import Callable, Iterator
from itertools import compress, count
from operator import methodcaller
from typing import BinaryIO, TextIO

from syncd.core.packed_digests import DIGEST_BYTES

# (listing key, digest[, its key's position]) of a row whose bytes are those of its
# listing's last record.
RowFinder = Callable[[bytes], tuple[str, bytes] | tuple[str, bytes, int] | None]

# Many rows' bytes (each without its line break) -> the row ``owner`` gives each digest
# (-1: none) and their digests back to back (fingerprint.py block_finder).
BlockFinder = Callable[[list[bytes]], tuple["array[int]", bytes]]

# A file in bytes is read this much at a time (and on to the next line break): its lines,
# their digests and rows are held a block at a time (about 3 times this at once); more
# only saves a few calls a block.
BLOCK_BYTES = 1 << 18

# A row with quoted newlines is found by its lines taken while its quotes are unbalanced;
# past this many lines (a stray quote in an unquoted cell) it is left to csv.reader.
MAX_ROW_LINES = 200

# Encodings in which the bytes \n, \r and " are those characters and nothing else, and
# whose strict decoding gives back the bytes when encoded: a line is split, and a row
# found, on its bytes.
BYTE_LINES = frozenset(
    {"utf-8", "utf-8-sig", "ascii", "cp1252", "iso8859-1", "iso8859-15", "cp1250", "cp1257"}
)

_QUOTES = methodcaller("count", b'"')


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
    return BlockLines(stream, encoding).readline


class BlockLines:
    """A file in a BYTE_LINES encoding read a block at a time (on to a line break), split
    into lines C-level where ``newline=""`` text splits them: ``bytes.splitlines`` ends a
    line at \\n, \\r\\n and a bare \\r, and nowhere else. A UTF-8 byte order mark is
    left out. ``readline`` takes one line; ``run`` many found rows at once."""

    def __init__(self, stream: BinaryIO, encoding: str, size: int | None = None) -> None:
        if codecs.lookup(encoding).name == "utf-8-sig" and stream.read(3) != codecs.BOM_UTF8:
            stream.seek(0)
        self._stream = stream
        self._size = BLOCK_BYTES if size is None else size
        self._block = b""
        self._bodies: list[bytes] = []  # the block's lines without their breaks (body())
        self._lines: list[bytes] | None = None  # with them: made when ``readline`` reads one
        self._at = 0  # the block's next line
        # What find_block gave for each of the block's lines (made at the first ``run``).
        self._found: tuple[array[int], bytes] | None = None

    def readline(self) -> bytes:
        at = self._at
        if at == len(self._bodies):
            if not self._load():
                return b""
            at = 0
        lines = self._lines
        if lines is None:  # most blocks of a re-drop are found whole: never split so
            lines = self._lines = self._block.splitlines(keepends=True)
        self._at = at + 1
        return lines[at]

    def run(self, find_block: BlockFinder) -> tuple[array[int], bytes] | None:
        """The next lines, consumed, while each is a row that ``find_block`` finds on its
        own (a line whose quotes are unbalanced never is: it may start a quoted newline):
        their rows and digests; None, nothing consumed, when the next line is not."""
        at = self._at
        if at == len(self._bodies):
            if not self._load():
                return None
            at = 0
        found = self._found
        if found is None:
            found = self._found = self._find(find_block)
        rows, digests = found
        try:
            end = rows.index(-1, at)
        except ValueError:
            end = len(rows)
        if end == at:
            return None
        self._at = end
        return rows[at:end], digests[at * DIGEST_BYTES : end * DIGEST_BYTES]

    def _load(self) -> bool:
        # The block before let go first: one block's lines held at a time, not two.
        self._block, self._bodies, self._lines, self._found = b"", [], None, None
        block = self._stream.read(self._size)
        if block and block[-1:] != b"\n":  # on to the line break (a \r\n stays whole)
            block += self._stream.readline()
        self._block, self._bodies, self._lines = block, block.splitlines(), None
        self._at, self._found = 0, None
        return bool(self._bodies)

    def _find(self, find_block: BlockFinder) -> tuple[array[int], bytes]:
        bodies = self._bodies
        rows, digests = find_block(bodies)
        for odd in compress(count(), map((1).__and__, map(_QUOTES, bodies))):
            rows[odd] = -1  # the start of a quoted newline, or a stray quote: a line at a time
        return rows, digests


def text_lines(stream: TextIO) -> Callable[[], bytes]:
    """``readline`` of a file read as text (``newline=""``), each line as UTF-8."""

    def readline() -> bytes:
        return stream.readline().encode("utf-8", "surrogatepass")

    return readline


class RowLines:
    """A file's lines (``readline``, bytes), through ``feed`` decoded to ``csv.reader``;
    ``take`` is the bytes of the lines fed since the last take (the row just read),
    ``count`` the lines consumed so far."""

    def __init__(
        self,
        readline: Callable[[], bytes],
        decode: Callable[[bytes], str],
        block: BlockLines | None = None,
    ) -> None:
        self._readline = readline
        self._block = block  # ``readline``'s: runs of found rows taken from it at once
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

    def known_run(self, find_block: BlockFinder) -> tuple[array[int], bytes] | None:
        """The next rows, consumed, while each is a one-line row ``find_block`` finds: their
        rows and digests (as ``BlockLines.run``); None, nothing consumed, otherwise (then
        ``known`` or csv.reader takes the next row)."""
        if self._back or self._block is None:
            return None
        found = self._block.run(find_block)
        if found is not None:
            self.count += len(found[0])
        return found

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
