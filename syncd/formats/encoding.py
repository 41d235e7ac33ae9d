"""Work out which character encoding an export file is in, and notice when it lies.

Reads bytes only (in chunks, so memory stays flat); never decodes records or guesses
silently: every guess and every contradiction is returned as a warning for the operator.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from syncd.core.errors import ParseError

CHUNK_BYTES = 1 << 20

_XML_DECL = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_SINGLE_BYTE = frozenset(
    {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "iso-8859-15", "cp1252", "windows-1252"}
)
# A UTF-8 lead byte followed by continuation bytes, or U+FFFD written as UTF-8 (EF BF BD):
# in a single-byte file such pairs are almost never real text ("Ã¤", "ï¿½").
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}")
_REPLACEMENT = b"\xef\xbf\xbd"

BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def bom_encoding(head: bytes) -> str | None:
    for bom, name in BOMS:
        if head.startswith(bom):
            return name
    return None


def xml_declared_encoding(head: bytes) -> str | None:
    """The encoding named in the XML declaration (ASCII-compatible files), lower case."""
    found = _XML_DECL.match(head.removeprefix(codecs.BOM_UTF8))
    return found.group(1).decode("ascii").lower() if found else None


def utf8_in_single_byte_file(path: Path, declared: str) -> str | None:
    """A warning when a file declared ISO-8859-1/cp1252 holds UTF-8 byte sequences."""
    if declared.lower() not in _SINGLE_BYTE:
        return None
    sequences = replacements = 0
    tail = b""
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            data = tail + chunk
            sequences += len(_UTF8_SEQUENCE.findall(data[: len(data) - 2]))
            replacements += data[: len(data) - 2].count(_REPLACEMENT)
            tail = data[len(data) - 2 :]
    sequences += len(_UTF8_SEQUENCE.findall(tail))
    if not sequences:
        return None
    detail = f"{sequences} UTF-8 multi-byte sequence(s)"
    if replacements:
        detail += f", {replacements} of them U+FFFD replacement characters (EF BF BD)"
    return (
        f"declared {declared} but the bytes look like UTF-8 ({detail}): "
        "text with non-ASCII letters will read as mojibake; fix the export's encoding"
    )


def detect_text_encoding(path: Path, forced: str = "auto") -> tuple[str, list[str]]:
    """Encoding of a delimited text file: BOM, else UTF-8 if every byte fits, else cp1252
    when it uses bytes 0x80-0x9F (curly quotes, €), else ISO-8859-1."""
    if forced != "auto":
        try:
            codecs.lookup(forced)
        except LookupError:
            raise ValueError(f"unknown encoding {forced!r}") from None
        return forced, []
    with path.open("rb") as stream:
        head = stream.read(4)
        bom = bom_encoding(head)
        if bom == "utf-8":
            return "utf-8-sig", []
        if bom:
            return bom.split("-le")[0].split("-be")[0], []
        stream.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        c1_controls = False
        utf8 = True
        while chunk := stream.read(CHUNK_BYTES):
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if re.search(rb"[\x80-\x9f]", chunk):
                c1_controls = True
            if not utf8 and c1_controls:
                break
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    if utf8:
        return "utf-8", []
    guess = "cp1252" if c1_controls else "iso-8859-1"
    return guess, [f"not UTF-8; read as {guess} (set encoding in the mapping to be sure)"]


class Utf8GuessWrong(Exception):
    """A file read as UTF-8 at first sight (``utf8_at_first_sight``) holds bytes that are
    not: it is to be read again from its start, with ``detect_text_encoding``'s answer."""


def utf8_at_first_sight(path: Path, forced: str) -> bool:
    """Whether a file may be read as UTF-8 before all of it is checked (what
    ``detect_text_encoding`` does, decoding every byte): no encoding forced, no byte order
    mark, and its first CHUNK_BYTES are UTF-8. Its reader then checks the rest as it reads:
    each line it decodes, strictly, and a row it finds by its bytes under the UTF-8 form
    was UTF-8 when first read (fingerprint.py; a whole file is UTF-8 exactly when each of
    its lines is, a line break being ASCII). Where a line is not, or the file breaks as
    CSV (the delimiter is sniffed from the text, so it may be another in the encoding
    found whole), the reader raises Utf8GuessWrong, and the file read again with
    ``detect_text_encoding`` gives what reading it all first gives."""
    if forced != "auto":
        return False
    with path.open("rb") as stream:
        head = stream.read(CHUNK_BYTES)
    if bom_encoding(head) is not None:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)  # may end inside a character
    except UnicodeDecodeError:
        return False
    return True


def text_file_encoding(path: Path, forced: str) -> tuple[str, list[str]]:
    """``detect_text_encoding`` for a file a reader opens: an unknown forced encoding is
    that file's ParseError."""
    try:
        return detect_text_encoding(path, forced)
    except ValueError as exc:
        raise ParseError(str(exc), str(path)) from None
