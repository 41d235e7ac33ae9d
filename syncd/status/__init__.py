"""The operator's view of every listing: stage, images, approval, last error, next action.

- ``rows``: every listing's status row, and the stage and gauges recorded from them;
- ``files``: status.json and status.csv in the inbox;
- ``book``: each listing's entry kept in the store, rebuilt only when the store marked it;
- ``view``: what the status page and /metrics read;
- ``detail``: one listing in detail ('syncd show KEY', /listing/KEY.json).

Reads the store; its only writes are the computed stage (``listings.stage``), the status
gauges and the status files. Never calls Hemnet and never decides what to send.
"""

from __future__ import annotations

from syncd.status.book import BookUpdate, StatusBook, book_rows
from syncd.status.detail import (
    HistoryEntry,
    ImageLine,
    KnownFacts,
    ListingDetail,
    detail_record,
    listing_detail,
    remedy_for,
)
from syncd.status.files import (
    FORMULA_TRIGGERS,
    STATUS_CSV,
    STATUS_FILE_COLUMNS,
    STATUS_JSON,
    spreadsheet_cell,
    write_status_files,
)
from syncd.status.rows import (
    HOLD_ACTION,
    SKIPPED_ACTION,
    StatusRow,
    observe,
    read_status_rows,
    stage_summary,
    status_rows,
)

__all__ = [
    "FORMULA_TRIGGERS",
    "HOLD_ACTION",
    "SKIPPED_ACTION",
    "STATUS_CSV",
    "STATUS_FILE_COLUMNS",
    "STATUS_JSON",
    "BookUpdate",
    "HistoryEntry",
    "ImageLine",
    "KnownFacts",
    "ListingDetail",
    "StatusBook",
    "StatusRow",
    "book_rows",
    "detail_record",
    "listing_detail",
    "observe",
    "read_status_rows",
    "remedy_for",
    "spreadsheet_cell",
    "stage_summary",
    "status_rows",
    "write_status_files",
]
