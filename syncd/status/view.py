"""What the status page and /metrics read: the rows to show and the listings per stage.

``FullView`` reads every listing (a process without a status book: tests, tools);
``BookView`` reads the status book's stored entries, as of its last refresh, so a page
costs the rows it shows, not a read of every listing. Reads only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from syncd.core.stages import Stage
from syncd.status.book import StatusBook
from syncd.status.rows import StatusRow, observe, read_status_rows, stage_summary
from syncd.store.engine import Store

# Rows the status page shows at most, those that need the operator first; with more
# listings, a stage chosen on the page is read for its own rows (docs/status.md).
PAGE_ROWS = 1000


@dataclass(frozen=True)
class StatusPage:
    """The rows one page shows (in ``order``, held first), and every listing's count."""

    rows: list[StatusRow]
    summary: dict[str, int]  # listings per stage, lifecycle order
    total: int

    @property
    def complete(self) -> bool:
        """Every listing is among the rows (the page filters them in the browser)."""
        return len(self.rows) == self.total


class StatusView(Protocol):
    def page(
        self, store: Store, now: datetime, order: Sequence[Stage], stage: str
    ) -> StatusPage: ...

    def observe(self, store: Store, now: datetime) -> None:
        """Set the stage and approval-wait gauges."""


class FullView:
    """Every listing's row from one read of the store."""

    def page(self, store: Store, now: datetime, order: Sequence[Stage], stage: str) -> StatusPage:
        rows = read_status_rows(store, now)
        observe(rows)
        rank = {name: index for index, name in enumerate(order)}
        ordered = sorted(
            rows, key=lambda row: (not row.held, rank.get(row.stage, len(rank)), row.listing_key)
        )
        if len(ordered) > PAGE_ROWS:
            ordered = [row for row in ordered if not stage or row.stage.value == stage]
        return StatusPage(ordered[:PAGE_ROWS], stage_summary(rows), len(rows))

    def observe(self, store: Store, now: datetime) -> None:
        observe(read_status_rows(store, now))


class BookView:
    """The rows and counts of the status book's last refresh."""

    def __init__(self, book: StatusBook) -> None:
        self._book = book

    def page(self, store: Store, now: datetime, order: Sequence[Stage], stage: str) -> StatusPage:
        summary, total = self._book.summary(store, now)
        # With every listing shown the page filters in the browser; beyond, by stage here.
        chosen = stage if total > PAGE_ROWS else None
        rows = self._book.rows(store, now, order, stage=chosen or None, limit=PAGE_ROWS)
        return StatusPage(rows, summary, total)

    def observe(self, store: Store, now: datetime) -> None:
        self._book.summary(store, now)
