"""The lines of a CSV export, fed to ``csv.reader`` one at a time: the text of each row it
reads, and rows found by their text before it reads them.

A row is found by its text (``RowLines.known``) when that text is exactly a row read
before, from a row boundary, with the same dialect and header (in the finder's salt): then
``csv.reader`` would read those very lines as that very row, so nothing of it need be
read. Any other text is handed back, and ``csv.reader`` reads it as always. A row's text
leaves out the line break that ends it (``body``): that break is in none of its cells, so
an export rewritten with other line breaks is still found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TextIO

# (listing key, digest) of a row whose text is that of its listing's last record.
RowFinder = Callable[[str], tuple[str, bytes] | None]

# A row with quoted newlines is found by its lines taken while its quotes are unbalanced;
# past this many lines (a stray quote in an unquoted cell) it is left to csv.reader.
MAX_ROW_LINES = 200


def body(text: str) -> str:
    """A row's text without the one line break that ends it (\\r\\n, \\n or \\r: a line
    read with ``newline=""`` ends with at most one), which is in none of its cells."""
    if text.endswith("\n"):
        return text[:-2] if text.endswith("\r\n") else text[:-1]
    return text[:-1] if text.endswith("\r") else text


class RowLines:
    """A text stream's lines (split as ``newline=""`` splits them), through ``feed`` to
    ``csv.reader``; ``take`` is the text of the lines fed since the last take (the row
    just read), ``count`` the lines consumed so far."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._back: list[str] = []  # lines read by ``known`` and handed back, last first
        self._taken: list[str] = []
        self.count = 0

    def feed(self) -> Iterator[str]:
        back, taken, readline = self._back, self._taken, self._stream.readline
        while True:
            line = back.pop() if back else readline()
            if not line:
                return
            self.count += 1
            taken.append(line)
            yield line

    def take(self) -> str:
        """The text of the row just read, without its line break (``body``)."""
        text = "".join(self._taken)
        self._taken.clear()
        return body(text)

    def _next(self) -> str:
        return self._back.pop() if self._back else self._stream.readline()

    def known(self, find: RowFinder) -> tuple[str, bytes] | None:
        """The next row, consumed, if ``find`` knows its text; else None, nothing consumed."""
        line = self._next()
        if not line:
            return None
        if line.count('"') % 2:  # a quoted newline (or a stray quote): the row's lines
            chunk = self._quoted(line)
            found = find(body("".join(chunk)))
        else:  # most rows: one line, ended by one line break
            chunk = [line]
            found = find(line[:-1] if line[-1] == "\n" and line[-2:-1] != "\r" else body(line))
        if found is None:
            self._back.extend(reversed(chunk))
            return None
        self.count += len(chunk)
        return found

    def _quoted(self, line: str) -> list[str]:
        """``line`` and the lines after it while its quotes are unbalanced (at most
        MAX_ROW_LINES)."""
        chunk = [line]
        quotes = line.count('"')
        while quotes % 2 and len(chunk) < MAX_ROW_LINES:
            more = self._next()
            if not more:
                break
            chunk.append(more)
            quotes += more.count('"')
        return chunk
