"""The status files (status.json and status.csv in the inbox) from the status rows.

Writes the two files whole and atomically; reads nothing itself and never touches the store.
``write_status_files`` writes them from rows; ``record_texts`` and ``write_status_texts``
(or ``write_status_stream``) write the same bytes from each listing's text made once
(``status.book``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from syncd.status.rows import StatusRow

STATUS_JSON = "status.json"
STATUS_CSV = "status.csv"

# The columns of status.csv and the keys of each listing in status.json, in this order
# (docs/status.md describes each one; CRMs read them, so only ever add at the end).
STATUS_FILE_COLUMNS: tuple[str, ...] = (
    "listing_key",
    "agency",
    "address",
    "stage",
    "hemnet_id",
    "hemnet_url",
    "visible",
    "approval_url",
    "awaiting_approval_since",
    "images_completed",
    "images_total",
    "images_failed",
    "last_error",
    "next_action",
    "updated_at",
    "held",
    "not_sent",
    "completeness",
)


def _write_atomically(path: Path, text: str | Iterable[str]) -> None:
    # A temp file in the same directory, then rename: a reader never sees half a file.
    # Dot-prefixed so the inbox watcher ignores it if the directory is the inbox.
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            if isinstance(text, str):
                handle.write(text)
            else:
                handle.writelines(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets
# (OWASP, "CSV Injection"); CRM text such as a title "=HYPERLINK(...)" must stay text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """``value`` as a CSV cell a spreadsheet shows as text: a string that would start a
    formula gets a leading apostrophe (OWASP's advice); other values are unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def write_status_files(rows: Sequence[StatusRow], directory: Path) -> None:
    """Write status.json and status.csv into ``directory`` for CRMs that read files."""
    directory.mkdir(parents=True, exist_ok=True)
    records = [row.file_record() for row in rows]
    document = {"columns": list(STATUS_FILE_COLUMNS), "listings": records}
    _write_atomically(
        directory / STATUS_JSON, json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=STATUS_FILE_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: spreadsheet_cell(value) for key, value in record.items()})
    _write_atomically(directory / STATUS_CSV, buffer.getvalue())


# Where a listing's JSON text sits in status.json: inside "listings", two levels deep.
_RECORD_INDENT = "\n    "


def record_texts(row: StatusRow) -> tuple[str, str]:
    """The listing's text in status.json (without the comma between listings) and its line
    in status.csv, exactly as ``write_status_files`` writes them."""
    record = row.file_record()
    json_text = _record_json(record)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=STATUS_FILE_COLUMNS, lineterminator="\r\n")
    writer.writerow({key: spreadsheet_cell(value) for key, value in record.items()})
    return json_text, buffer.getvalue()


_SCALARS = (str, int, float, bool, type(None))


def _record_json(record: dict[str, Any]) -> str:
    """``record`` as ``json.dumps(record, indent=2)`` writes it two levels deep.

    json's indenting encoder is its pure-Python one; a record of scalars is laid out
    here with the C encoder per value instead (a fifth of the time, the same bytes).
    """
    if not record:
        return "{}"
    if not all(isinstance(value, _SCALARS) for value in record.values()):
        return json.dumps(record, ensure_ascii=False, indent=2).replace("\n", _RECORD_INDENT)
    items = ",".join(
        f"{_RECORD_INDENT}  {_STRING(key)}: {_scalar(value)}" for key, value in record.items()
    )
    return "{" + items + _RECORD_INDENT + "}"


# json's own C helper for a string, as ensure_ascii=False encodes it.
_STRING = json.encoder.encode_basestring
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
_LITERALS = {None: "null", True: "true", False: "false"}


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _STRING(value)
    if value is None or isinstance(value, bool):
        return _LITERALS[value]
    if isinstance(value, int):
        return int.__repr__(value)
    return _ENCODE(value)


def _json_head() -> str:
    # The document up to the listings, from the same encoder as the whole write.
    whole = json.dumps(
        {"columns": list(STATUS_FILE_COLUMNS), "listings": None}, ensure_ascii=False, indent=2
    )
    return whole[: -len("null\n}")]


def _csv_head() -> str:
    buffer = io.StringIO()
    csv.DictWriter(buffer, fieldnames=STATUS_FILE_COLUMNS, lineterminator="\r\n").writeheader()
    return buffer.getvalue()


_JSON_HEAD = _json_head()
_CSV_HEAD = _csv_head()


def write_status_texts(
    json_texts: Sequence[str], csv_lines: Sequence[str], directory: Path
) -> None:
    """Write status.json and status.csv from each listing's texts (``record_texts``), in
    order: the same bytes as ``write_status_files`` with those listings' rows."""
    directory.mkdir(parents=True, exist_ok=True)
    listings = "[\n    " + ",\n    ".join(json_texts) + "\n  ]" if json_texts else "[]"
    _write_atomically(directory / STATUS_JSON, _JSON_HEAD + listings + "\n}\n")
    _write_atomically(directory / STATUS_CSV, _CSV_HEAD + "".join(csv_lines))


def _json_pieces(json_texts: Iterable[str]) -> Iterator[str]:
    yield _JSON_HEAD
    between = "[\n    "
    for text in json_texts:
        yield between
        yield text
        between = ",\n    "
    yield "[]" if between.startswith("[") else "\n  ]"
    yield "\n}\n"


def _csv_pieces(csv_lines: Iterable[str]) -> Iterator[str]:
    yield _CSV_HEAD
    yield from csv_lines


def write_status_stream(texts: Callable[[], Iterable[tuple[str, str]]], directory: Path) -> None:
    """Write status.json and status.csv from each listing's (json text, csv line), which
    ``texts()`` yields in order (called once per file): the bytes of ``write_status_texts``
    without holding every listing's texts at once."""
    directory.mkdir(parents=True, exist_ok=True)
    _write_atomically(directory / STATUS_JSON, _json_pieces(text for text, _ in texts()))
    _write_atomically(directory / STATUS_CSV, _csv_pieces(line for _, line in texts()))
