"""The status rows kept in memory between writes: each listing's row, and its text in the
status files, rebuilt only when what it is built from changed.

At 10,000 listings, building every row and encoding every listing for status.json and
status.csv cost about half a second per write though almost none had changed. Here one
read gathers each listing's inputs (``RowInputs``); a listing whose inputs equal the
last ones keeps its row and its texts. The files come out byte for byte as a full write
(``write_status_files``) makes them.

Reads the store only (the stages to record are handed back, for the single writer to
store); thread-safe, so the status page and the status files share one book.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from syncd.status.files import record_texts, write_status_texts
from syncd.status.rows import RowInputs, StatusRow, awaiting_s, observe, status_inputs
from syncd.store.engine import Store


@dataclass(frozen=True, slots=True)
class _Entry:
    inputs: RowInputs
    row: StatusRow
    json_text: str
    csv_line: str


@dataclass(frozen=True)
class BookUpdate:
    """One refresh: every row (as of its time), the stages to store, and how many listings
    had to be built again."""

    rows: list[StatusRow]
    moved: dict[str, str]  # listing_key -> the stage to store (it differs from the stored one)
    rebuilt: int


class StatusBook:
    """Every listing's status row and file texts, refreshed from the store on demand."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}  # in listing_key order, as read

    def refresh(self, store: Store, now: datetime) -> BookUpdate:
        """Read the store once and rebuild the listings whose inputs changed; sets the
        status gauges. Writes nothing."""
        # One refresh at a time, read included: a refresh of an older read must not replace
        # the entries of a newer one.
        with self._lock, store.read() as session:
            inputs = status_inputs(session)
            previous = self._entries
            entries: dict[str, _Entry] = {}
            rebuilt = 0
            for item in inputs:
                key = item.state.listing_key
                entry = previous.get(key)
                if entry is None or entry.inputs != item:
                    row = item.row(now)
                    entry = _Entry(item, row, *record_texts(row))
                    rebuilt += 1
                entries[key] = entry
            self._entries = entries
        rows = [_as_of(entry.row, now) for entry in entries.values()]
        moved = {
            key: entry.row.stage.value
            for key, entry in entries.items()
            if entry.inputs.state.stage != entry.row.stage.value
        }
        observe(rows)
        return BookUpdate(rows, moved, rebuilt)

    def write_files(self, directory: Path) -> None:
        """status.json and status.csv in ``directory`` as of the last refresh."""
        with self._lock:
            entries = list(self._entries.values())
        write_status_texts(
            [entry.json_text for entry in entries], [entry.csv_line for entry in entries], directory
        )


def _as_of(row: StatusRow, now: datetime) -> StatusRow:
    """``row`` with the approval wait as of ``now`` (the only part that moves with time)."""
    if row.awaiting_approval_s is None:
        return row
    return dataclasses.replace(
        row, awaiting_approval_s=awaiting_s(row.stage, row.published_at, now)
    )
