"""Walking one of Hemnet's paged lists by ``limit``/``offset`` (ASSUMED: hemnet-api.md,
"Pagination"): where the next page starts, when the list is done, and when it changed
under the walk. Pure: the caller fetches the pages and says what each held.

A listing that leaves the list while it is read (moved to another account, removed)
moves every later one a place forward: the one that crosses the page boundary would be
skipped, and a skipped listing reads as absent (a create lookup would then create it
again). So a total that shrinks between two pages starts the walk over from the first
page; what was read already is not yielded twice (the caller keeps the ids seen).
"""

from __future__ import annotations

from dataclasses import dataclass

from syncd.hemnet import wire
from syncd.hemnet.payload import UnreadableAnswer

# How often a list that keeps shrinking is read again from the start before the call fails
# (a busy account's listings leaving faster than a walk can read them).
MAX_RESTARTS = 3


@dataclass
class PageWalk:
    """Where a paged read stands; ``max_pages`` bounds the pages of one walk (a restart
    begins a new walk: a list read again does not count twice against it)."""

    limit: int
    max_pages: int
    offset: int = 0
    restarts: int = 0
    _pages: int = 0
    _furthest: int = 0  # the offset the walks so far reached: re-read pages hold no news
    _total: int | None = None

    def next_page(self) -> int:
        """The offset of the page to read now; fails past ``max_pages`` pages."""
        if self._pages >= self.max_pages:
            raise UnreadableAnswer(
                wire.PAGE_OFFSET, f"the list did not end within {self.max_pages} pages"
            )
        self._pages += 1
        return self.offset

    def after_page(self, count: int, fresh: int, total: int | None, page_size: int | None) -> bool:
        """A page held ``count`` items, ``fresh`` of them not read before, and said
        ``total`` and its own ``page_size``: True when the list is done."""
        start = self.offset
        shrank = total is not None and self._total is not None and total < self._total
        if count and not fresh and start >= self._furthest and not shrank:
            raise UnreadableAnswer(
                wire.PAGE_OFFSET,
                f"the page at offset {start} repeats items already read (is the offset ignored?)",
            )
        self._furthest = max(self._furthest, start + count)
        if total is not None:
            self._total = total
        if shrank:
            return self._restart(total)
        if not count:
            return True
        self.offset = start + count
        if total is not None:
            return self.offset >= total
        return count < (page_size if page_size is not None else self.limit)

    def _restart(self, total: int | None) -> bool:
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            raise UnreadableAnswer(
                wire.PAGE_TOTAL,
                f"the list kept shrinking while it was read (now {total}; "
                f"read again from the start {MAX_RESTARTS} times)",
            )
        self.offset, self._pages = 0, 0
        return False
