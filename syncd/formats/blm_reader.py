"""Stream the records of a Rightmove BLM file (#HEADER#, #DEFINITION#, #DATA#, #END#).

The header declares the field (EOF) and record (EOR) separators. Reads and locates records
only; turning them into listings is ``assemble``'s job.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from syncd.core.domain import Problem
from syncd.core.errors import ParseError
from syncd.formats.csv_reader import TabularRecord, column_index
from syncd.formats.encoding import text_file_encoding
from syncd.formats.mapping import Expr, Mapping

log = logging.getLogger(__name__)

CHUNK_CHARS = 256 * 1024
_HEADER_LINE = re.compile(r"^\s*([A-Za-z_ ]+?)\s*:\s*(.*?)\s*$")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


class BlmSource:
    """A BLM export opened for streaming: header facts, then ``records()``."""

    def __init__(self, path: Path, mapping: Mapping) -> None:
        self.path = path
        self.mapping = mapping
        self.encoding, self.warnings = text_file_encoding(path, mapping.encoding)
        self.header: dict[str, str] = {}
        with path.open(encoding=self.encoding, errors="replace", newline="") as stream:
            first = stream.readline()
            if first.strip().lstrip("\ufeff") != "#HEADER#":
                raise ParseError(
                    f"not a BLM file: it must start with #HEADER#, not {first.strip()[:40]!r}",
                    str(path),
                    1,
                )
            line = 1
            for raw in stream:
                line += 1
                text = raw.strip()
                if text == "#DEFINITION#":
                    break
                found = _HEADER_LINE.match(text)
                if found:
                    self.header[found.group(1).strip().upper()] = _unquote(found.group(2))
            else:
                raise ParseError("not a BLM file: no #DEFINITION# section", str(path), line)
        self.field_separator = self.header.get("EOF", "|") or "|"
        self.record_separator = self.header.get("EOR", "~") or "~"
        self.definition_line = line + 1

    def records(self) -> Iterator[tuple[TabularRecord, int | None, list[Problem]]]:
        try:
            yield from self._records()
        except UnicodeDecodeError as exc:  # e.g. 0x81, which cp1252 leaves undefined
            raise ParseError(
                f"bytes that are not {self.encoding} ({exc.reason})", str(self.path)
            ) from None

    def _records(self) -> Iterator[tuple[TabularRecord, int | None, list[Problem]]]:
        with self.path.open(encoding=self.encoding, newline="") as stream:
            pieces = self._pieces(stream)
            try:
                definition, _line = next(pieces)
            except StopIteration:
                raise ParseError("BLM file ends inside #DEFINITION#", str(self.path)) from None
            names = definition.split(self.field_separator)
            if names and not names[-1].strip():
                names.pop()
            columns, warnings = column_index(names)
            positions: dict[Expr, int | None] = {}
            self.warnings.extend(warnings)
            in_data = False
            for piece, piece_line in pieces:
                text = piece.lstrip("\r\n")
                start = piece_line + piece[: len(piece) - len(text)].count("\n")
                if not in_data:
                    marker = text.find("#DATA#")
                    if marker == -1:
                        raise ParseError("BLM file has no #DATA# section", str(self.path), start)
                    start += text[:marker].count("\n")
                    text = text[marker + len("#DATA#") :]
                    stripped = text.lstrip("\r\n")
                    start += text[: len(text) - len(stripped)].count("\n")
                    text = stripped
                    in_data = True
                if text.strip() == "#END#" or text.startswith("#END#"):
                    return
                if not text.strip():
                    continue
                row = text.split(self.field_separator)
                if text.rstrip("\r\n").endswith(self.field_separator):
                    row.pop()  # records end "…|~": the last separator closes the last field
                problems: list[Problem] = []
                if len(row) != len(names):
                    problems.append(
                        Problem(
                            "record",
                            None,
                            f"{len(row)} fields where #DEFINITION# declares {len(names)}",
                            "warning",
                        )
                    )
                yield TabularRecord(row, columns, positions), start, problems

    def _pieces(self, stream: TextIO) -> Iterator[tuple[str, int]]:
        """Text between record separators, from the definition on, with its start line."""
        line = 1
        for _ in range(self.definition_line - 1):
            stream.readline()
            line += 1
        buffer = ""
        separator = self.record_separator
        while True:
            chunk = stream.read(CHUNK_CHARS)
            buffer += chunk
            while (end := buffer.find(separator)) != -1:
                piece = buffer[:end]
                yield piece, line
                line += piece.count("\n")
                buffer = buffer[end + len(separator) :]
            if not chunk:
                break
        if buffer.strip():
            yield buffer, line
